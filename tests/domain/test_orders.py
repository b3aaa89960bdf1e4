"""Pay-later and installment rules (PRODUCT.md section 3), no AWS."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain import orders as rules
from chalicelib.domain.errors import InvalidTransition, ValidationFailed
from chalicelib.domain.orders import OrderStatus as S
from chalicelib.domain.policy import Policy

P = Policy()


def test_a_pending_order_can_be_charged_cancelled_or_fall_past_due():
    for target in (S.CHARGED, S.CANCELLED, S.PAST_DUE):
        assert rules.transition(S.PENDING_CHARGE, target) == target


@pytest.mark.parametrize(
    "src,dst",
    [
        (S.CHARGED, S.CANCELLED),
        (S.CANCELLED, S.CHARGED),
        (S.REFUNDED, S.CHARGED),
        (S.PAST_DUE, S.CHARGED),
        (S.PENDING_CHARGE, S.REFUNDED),
        (S.REJECTED, S.PENDING_CHARGE),
    ],
)
def test_the_machine_refuses_every_other_move(src, dst):
    with pytest.raises(InvalidTransition):
        rules.transition(src, dst)


def test_every_status_has_a_row_in_the_table():
    assert set(rules.TRANSITIONS) == set(S)


def test_trial_defaults_to_the_scenario_and_must_be_7_to_30_days():
    assert rules.trial_days(None, 14, P) == 14
    assert rules.trial_days(7, 14, P) == 7 and rules.trial_days(30, 14, P) == 30
    for bad in (6, 31, 0):
        with pytest.raises(ValidationFailed) as exc:
            rules.trial_days(bad, 14, P)
        assert exc.value.field == "trial_days"


def test_charge_at_is_creation_plus_the_trial():
    created = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert rules.charge_at(created, 7) == datetime(2026, 1, 8, 12, tzinfo=timezone.utc)


def test_periods_are_floored_and_the_first_carries_the_remainder():
    p = rules.plan(100_001, 3, "gold", P)
    assert (p.per_period, p.first_payment) == (33_333, 33_335)
    assert p.first_payment + p.per_period * 2 == 100_001
    for amount in (60_000, 60_001, 99_999, 123_457):
        for n in (3, 6, 12):
            q = rules.plan(amount, n, "gold", P)
            assert q.first_payment + q.per_period * (n - 1) == amount
            assert 0 <= q.first_payment - q.per_period < n


def test_twelve_periods_only_for_silver_and_gold():
    assert [p.eligible for p in rules.quote(60_000, "normal", P)] == [True, True, False]
    assert [p.eligible for p in rules.quote(60_000, "silver", P)] == [True, True, True]
    assert all(p.fee_payer == "merchant" for p in rules.quote(60_000, "gold", P))


def test_below_600_yuan_no_plan_is_eligible():
    assert not any(p.eligible for p in rules.quote(59_999, "gold", P))


def test_an_ineligible_plan_is_refused_naming_the_reason():
    with pytest.raises(ValidationFailed) as exc:
        rules.require_plan(59_999, 3, "gold", P)
    assert (exc.value.field, exc.value.code) == ("amount", "installment_amount_below_minimum")
    with pytest.raises(ValidationFailed) as exc:
        rules.require_plan(80_000, 12, "normal", P)
    assert (exc.value.field, exc.value.code) == ("installments", "installment_tier_not_eligible")


def test_the_alipay_terms_carry_the_plan_with_the_merchant_paying():
    assert rules.provider_terms(rules.plan(60_000, 6, "gold", P)) == {"hb_fq_num": "6", "hb_fq_seller_percent": "100"}


def test_a_refund_never_exceeds_what_is_left():
    assert rules.refund_amount(10_000, 0, None) == 10_000
    assert rules.refund_amount(10_000, 4_000, None) == 6_000
    assert rules.refund_amount(10_000, 4_000, 6_000) == 6_000
    with pytest.raises(ValidationFailed) as exc:
        rules.refund_amount(10_000, 4_000, 6_001)
    assert exc.value.field == "amount"
    assert rules.status_after_refund(10_000, 10_000) == S.REFUNDED
    assert rules.status_after_refund(10_000, 1) == S.PARTIALLY_REFUNDED
