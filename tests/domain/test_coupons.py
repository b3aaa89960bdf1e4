"""Coupon rules, pure: amounts by band and tier, the credit day, budgets, redemption checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.clock import iso
from chalicelib.domain import coupons as rules
from chalicelib.domain.errors import InvalidState, NotFound, ValidationFailed
from chalicelib.domain.policy import Policy

P = Policy()
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=timezone.utc)


def coupon(**over):
    base = {
        "coupon_id": "cpn_1",
        "member_id": "m_a",
        "kind": "credit_day",
        "amount": 1500,
        "min_spend": 9900,
        "valid_from": iso(NOW - timedelta(days=1)),
        "valid_until": iso(NOW + timedelta(days=1)),
        "status": "available",
    }
    return {**base, **over}


@pytest.mark.parametrize(
    "band, amount",
    [
        ("0-549", 0),
        ("550-599", 0),
        ("600-649", 500),
        ("650-699", 1000),
        ("700-749", 2000),
        ("750-799", 3500),
        ("800-950", 5000),
        (None, 0),
    ],
)
def test_first_order_subsidy_follows_the_band(band, amount):
    assert rules.first_order_amount(band, P) == amount


def test_the_first_grant_is_not_an_upgrade():
    assert rules.upgrade_rewards("none", "gold", True, P) == []


def test_rising_above_the_peak_pays_the_tier_reached():
    assert rules.upgrade_rewards("normal", "silver", False, P) == [("silver", 1000)]
    assert rules.upgrade_rewards("silver", "gold", False, P) == [("gold", 3000)]
    assert rules.upgrade_rewards("none", "gold", False, P) == [("gold", 3000)]  # a jump pays the tier reached


def test_staying_falling_or_climbing_back_to_a_reached_tier_pays_nothing():
    assert rules.upgrade_rewards("gold", "gold", False, P) == []
    assert rules.upgrade_rewards("gold", "silver", False, P) == []
    assert rules.upgrade_rewards("none", "normal", False, P) == []  # no reward for normal


def test_peak_is_the_highest_tier_reached():
    assert rules.peak_tier({"silver", "gold", "normal"}) == "gold"
    assert rules.peak_tier(set()) == "none"


def test_credit_day_month_is_known_only_on_or_after_the_day():
    day = lambda d: datetime(2026, 12, d, tzinfo=timezone.utc)  # noqa: E731
    assert rules.credit_day_month(day(7), 8) is None
    assert rules.credit_day_month(day(8), 8) == "2026-12"
    assert rules.credit_day_month(day(31), 8) == "2026-12"
    assert rules.credit_day_month(datetime(2027, 2, 28, tzinfo=timezone.utc), 31) == "2027-02"  # clamped


def test_month_window_spans_the_month_and_the_year_end():
    assert rules.month_window("2026-12") == (
        datetime(2026, 12, 1, tzinfo=timezone.utc),
        datetime(2027, 1, 1, tzinfo=timezone.utc),
    )
    assert rules.month_window("2027-02")[1] == datetime(2027, 3, 1, tzinfo=timezone.utc)


def test_credit_day_amounts_by_tier():
    assert [rules.credit_day_amount(t, P) for t in ("none", "normal", "silver", "gold")] == [0, 0, 1500, 3000]


def test_budget_fit_caps_the_total_given():
    assert rules.budget_fit(None, 0, 1000, 24) == 24
    assert rules.budget_fit(10_000, 0, 1000, 24) == 10
    assert rules.budget_fit(10_000, 9_500, 1000, 24) == 0
    assert rules.budget_fit(10_000, 12_000, 1000, 24) == 0


def test_a_redeemable_coupon_gives_its_amount_capped_at_the_price():
    assert rules.check_redeemable(coupon(), "m_a", 9900, NOW) == 1500
    assert rules.check_redeemable(coupon(min_spend=0, amount=5000), "m_a", 3000, NOW) == 3000


def test_another_members_coupon_is_not_found():
    with pytest.raises(NotFound) as err:
        rules.check_redeemable(coupon(), "m_b", 9900, NOW)
    assert err.value.status == 404 and err.value.field == "coupon_id"
    with pytest.raises(NotFound):
        rules.check_redeemable(None, "m_a", 9900, NOW)


def test_an_expired_coupon_is_refused():
    with pytest.raises(ValidationFailed) as err:
        rules.check_redeemable(coupon(valid_until=iso(NOW)), "m_a", 9900, NOW)
    assert err.value.code == "coupon_expired"


def test_a_coupon_not_yet_valid_is_refused():
    with pytest.raises(ValidationFailed) as err:
        rules.check_redeemable(coupon(valid_from=iso(NOW + timedelta(seconds=1))), "m_a", 9900, NOW)
    assert err.value.code == "coupon_not_yet_valid"


def test_minimum_spend_not_met_is_a_400():
    with pytest.raises(ValidationFailed) as err:
        rules.check_redeemable(coupon(), "m_a", 9899, NOW)
    assert err.value.status == 400 and err.value.code == "coupon_min_spend_not_met"


@pytest.mark.parametrize("status", ["reserved", "used"])
def test_a_reserved_or_used_coupon_is_a_409(status):
    with pytest.raises(InvalidState) as err:
        rules.check_redeemable(coupon(status=status), "m_a", 9900, NOW)
    assert err.value.status == 409 and err.value.code == "coupon_unavailable"


def test_public_status():
    assert rules.public_status(coupon(), NOW) == "available"
    assert rules.public_status(coupon(status="reserved"), NOW) == "used"
    assert rules.public_status(coupon(status="used", valid_until=iso(NOW)), NOW) == "used"
    assert rules.public_status(coupon(valid_until=iso(NOW)), NOW) == "expired"


def test_percent_off_coupons_are_capped_at_their_amount():
    pct = coupon(percent_off=10, amount=2000, min_spend=0)
    assert rules.check_redeemable(pct, "m_a", 9999, NOW) == 999  # 10%, floored
    assert rules.check_redeemable(pct, "m_a", 50_000, NOW) == 2000  # capped
    assert rules.discount(coupon(amount=5000), 3000) == 3000  # never more than the price
