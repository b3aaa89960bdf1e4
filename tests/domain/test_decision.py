"""The decision pipeline in PRODUCT.md's order, the four risk rules, and threshold adjustment. Pure: no AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.decision import Outcome, ScenarioPolicy, decide
from chalicelib.domain.policy import Policy
from chalicelib.domain.risk import RULES, Application, MemberFacts, adjusted_threshold, fired_rule, record_recent

P = Policy()
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
BOOKS = ScenarioPolicy("books", 600)
YUAN = 100

# A member no rule objects to: a band above every threshold, history of ordinary orders.
GOOD = MemberFacts(
    band="750-799",
    tier="gold",
    blacklisted=False,
    exposure=0,
    limit=1_000_000,
    order_count=4,
    order_total=4 * 500 * YUAN,
)


def rental(amount: int = 500 * YUAN, **kw) -> Application:
    return Application("rental", amount, NOW, **kw)


def order(amount: int = 500 * YUAN, kind: str = "order") -> Application:
    return Application(kind, amount, NOW)


def all_off() -> dict[str, bool]:
    return {name: False for name in RULES}


# -- the order of the pipeline, one test per branch -----------------------------------------------


def test_a_blacklisted_member_is_rejected_before_anything_else():
    worst = replace(GOOD, blacklisted=True, band=None, exposure=10**9, recent_at=(NOW,) * 5)
    for app in (rental(), order(), order(kind="booking")):
        assert decide(worst, app, BOOKS, P) == decide(replace(GOOD, blacklisted=True), app, BOOKS, P)
        d = decide(worst, app, BOOKS, P)
        assert (d.outcome, d.reason) == (Outcome.REJECTED, "blacklisted")


def test_a_band_below_the_floor_is_rejected_before_the_limit():
    for band in ("0-549", None):
        d = decide(replace(GOOD, band=band, exposure=10**9), rental(), BOOKS, P)
        assert (d.outcome, d.reason) == (Outcome.REJECTED, "score_below_floor")
    assert (
        decide(replace(GOOD, band="550-599"), order(), BOOKS, P).outcome == Outcome.APPROVED
    )  # the floor itself passes


def test_exposure_over_the_limit_is_rejected_before_the_rules():
    member = replace(GOOD, exposure=900_000, recent_at=(NOW,) * 5)
    d = decide(member, rental(100_001), BOOKS, P)
    assert (d.outcome, d.reason) == (Outcome.REJECTED, "over_limit")
    assert (
        decide(replace(GOOD, exposure=900_000), order(100_000), BOOKS, P).outcome == Outcome.APPROVED
    )  # exactly at it


def test_exposure_counts_what_the_application_adds_not_its_value():
    member = replace(GOOD, exposure=990_000)
    assert decide(member, rental(50_000, exposure_amount=0), BOOKS, P).outcome == Outcome.DEPOSIT_FREE
    assert decide(member, rental(50_000), BOOKS, P).reason == "over_limit"


def test_a_fired_rule_sends_to_review_before_the_threshold():
    member = replace(GOOD, band="600-649", recent_at=(NOW - timedelta(minutes=5),) * 2)
    d = decide(member, rental(), ScenarioPolicy("high_value", 700), P)
    assert (d.outcome, d.reason, d.rule) == (Outcome.REVIEW, "risk_rule:velocity", "velocity")
    assert d.takes_credit


def test_band_at_or_above_the_threshold_is_deposit_free():
    d = decide(replace(GOOD, band="700-749"), rental(), ScenarioPolicy("appliances", 700), P)
    assert (d.outcome, d.reason) == (Outcome.DEPOSIT_FREE, None) and d.takes_credit


def test_band_below_the_threshold_is_deposit_required():
    d = decide(replace(GOOD, band="650-699"), rental(), ScenarioPolicy("appliances", 700), P)
    assert (d.outcome, d.reason) == (Outcome.DEPOSIT_REQUIRED, None) and not d.takes_credit


def test_orders_and_bookings_are_approved_instead_of_a_deposit_choice():
    low = replace(GOOD, band="550-599")
    for kind in ("order", "booking"):
        d = decide(low, order(kind=kind), ScenarioPolicy("appliances", 700), P)
        assert (d.outcome, d.reason) == (Outcome.APPROVED, None) and d.takes_credit


def test_without_a_scenario_a_rental_uses_the_high_threshold():
    assert decide(replace(GOOD, band="650-699"), rental(), None, P).outcome == Outcome.DEPOSIT_REQUIRED
    assert decide(replace(GOOD, band="700-749"), rental(), None, P).outcome == Outcome.DEPOSIT_FREE


def test_an_approved_review_continues_without_the_rules_but_with_every_other_check():
    flagged = replace(GOOD, recent_at=(NOW,) * 2)
    assert decide(flagged, rental(), BOOKS, P).outcome == Outcome.REVIEW
    assert decide(flagged, rental(), BOOKS, P, skip_rules=True).outcome == Outcome.DEPOSIT_FREE
    assert decide(replace(flagged, blacklisted=True), rental(), BOOKS, P, skip_rules=True).reason == "blacklisted"


# -- the rules, one by one, each switchable per scenario ----------------------------------------------


def test_velocity_fires_on_the_third_within_an_hour():
    two_recent = replace(GOOD, recent_at=(NOW - timedelta(minutes=59), NOW - timedelta(minutes=1)))
    assert fired_rule(two_recent, order(), P) == "velocity"
    one_old = replace(GOOD, recent_at=(NOW - timedelta(minutes=61), NOW - timedelta(minutes=1)))
    assert fired_rule(one_old, order(), P) is None
    assert fired_rule(replace(GOOD, recent_at=(NOW,)), order(), P) is None  # the 2nd is fine


def test_shared_device_fires_from_three_members():
    assert fired_rule(replace(GOOD, device_members=3), order(), P) == "shared_device"
    assert fired_rule(replace(GOOD, device_members=2), order(), P) is None


def test_amount_spike_needs_over_3x_the_average_and_over_1000_yuan():
    avg_400 = replace(GOOD, order_count=5, order_total=5 * 400 * YUAN)
    assert fired_rule(avg_400, order(1_201 * YUAN), P) == "amount_spike"
    assert fired_rule(avg_400, order(1_200 * YUAN), P) is None  # exactly 3x is not over it
    avg_100 = replace(GOOD, order_count=5, order_total=5 * 100 * YUAN)
    assert fired_rule(avg_100, order(1_000 * YUAN), P) is None  # 10x, but not over 1,000 yuan
    assert fired_rule(avg_100, order(1_000 * YUAN + 1), P) == "amount_spike"


def test_first_order_large_is_over_2000_yuan_on_the_very_first():
    new = replace(GOOD, order_count=0, order_total=0)
    assert fired_rule(new, rental(2_000 * YUAN + 1), P) == "first_order_large"
    assert fired_rule(new, rental(2_000 * YUAN), P) is None
    assert fired_rule(replace(GOOD, order_count=1, order_total=2_000 * YUAN), rental(2_100 * YUAN), P) is None


@pytest.mark.parametrize(
    "rule,member,app",
    [
        ("velocity", replace(GOOD, recent_at=(NOW,) * 2), order()),
        ("shared_device", replace(GOOD, device_members=5), order()),
        ("amount_spike", replace(GOOD, order_count=2, order_total=2 * 100 * YUAN), order(5_000 * YUAN)),
        ("first_order_large", replace(GOOD, order_count=0, order_total=0), rental(3_000 * YUAN)),
    ],
)
def test_each_rule_reviews_when_on_and_is_ignored_when_switched_off_for_the_scenario(rule, member, app):
    on = decide(member, app, BOOKS, P)
    assert (on.outcome, on.reason) == (Outcome.REVIEW, f"risk_rule:{rule}")
    off = decide(member, app, ScenarioPolicy("books", 600, {rule: False}), P)
    assert off.outcome in (Outcome.APPROVED, Outcome.DEPOSIT_FREE)
    others_off = {**all_off(), rule: True}
    assert decide(member, app, ScenarioPolicy("books", 600, others_off), P).reason == f"risk_rule:{rule}"


def test_rules_fire_in_registry_order_and_all_off_means_none():
    everything = replace(GOOD, order_count=0, order_total=0, recent_at=(NOW,) * 2, device_members=4)
    assert fired_rule(everything, rental(3_000 * YUAN), P) == "velocity"
    assert fired_rule(everything, rental(3_000 * YUAN), P, {"velocity": False}) == "shared_device"
    assert fired_rule(everything, rental(3_000 * YUAN), P, all_off()) is None


def test_recent_times_keep_only_the_window():
    old, fresh = NOW - timedelta(minutes=90), NOW - timedelta(minutes=10)
    assert record_recent((old, fresh), NOW, 60) == [fresh, NOW]


# -- dynamic thresholds ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "threshold,base,closed,defaults,expected",
    [
        (600, 600, 100, 3, 610),  # 3% > 2%: up
        (745, 600, 100, 3, 750),  # up, capped at 750
        (750, 600, 100, 9, None),  # already at the ceiling
        (800, 600, 100, 9, None),  # an operator's override above the ceiling is never lowered by "up"
        (650, 600, 100, 0, 640),  # 0% < 1%: down
        (605, 600, 100, 0, 600),  # down, never below the base
        (600, 600, 100, 0, None),  # at the base
        (650, 600, 100, 2, None),  # exactly the target: stay
        (650, 600, 100, 1, None),  # exactly half the target: stay
        (650, 600, 200, 1, 640),  # 0.5%: under half
        (650, 600, 49, 49, None),  # under 50 closed: no judgement
        (650, 600, 50, 2, 660),  # 4% on exactly 50 closed
        (650, 600, 0, 0, None),
    ],
)
def test_threshold_follows_the_bad_debt_rate(threshold, base, closed, defaults, expected):
    assert adjusted_threshold(threshold, base, closed, defaults, P) == expected
