"""Rental rules: the state machine and the settlement math (no AWS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import rentals as r
from chalicelib.domain.errors import InvalidTransition

S = r.RentalStatus
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
fen = st.integers(min_value=0, max_value=10_000_000)


def test_every_status_has_a_one_line_docstring_and_a_row_in_the_table():
    assert set(r.TRANSITIONS) == set(S)
    assert {str(s) for s in S} == {
        "pending_freeze",
        "awaiting_deposit",
        "review",
        "active",
        "returned",
        "inspecting",
        "closing",
        "closed",
        "rejected",
    }


def test_the_happy_path_is_allowed():
    path = [S.REVIEW, S.PENDING_FREEZE, S.ACTIVE, S.RETURNED, S.CLOSED]
    for current, target in zip(path, path[1:], strict=False):
        assert r.transition(current, target) == target


@pytest.mark.parametrize(
    "current,target",
    [
        (S.ACTIVE, S.ACTIVE),
        (S.RETURNED, S.RETURNED),
        (S.CLOSED, S.RETURNED),
        (S.REJECTED, S.ACTIVE),
        (S.PENDING_FREEZE, S.RETURNED),
        (S.AWAITING_DEPOSIT, S.CLOSED),
        (S.RETURNED, S.ACTIVE),
        (S.INSPECTING, S.ACTIVE),
        (S.CLOSING, S.RETURNED),
        (S.RETURNED, S.CLOSING),
        (S.CLOSED, S.INSPECTING),
    ],
)
def test_other_moves_are_refused_with_invalid_state(current, target):
    with pytest.raises(InvalidTransition) as err:
        r.transition(current, target)
    assert err.value.status == 409 and err.value.code == "invalid_state"


def test_closed_and_rejected_are_final():
    assert not r.TRANSITIONS[S.CLOSED] and not r.TRANSITIONS[S.REJECTED]


def test_rent_is_daily_rent_times_days_less_the_coupon_never_below_zero():
    assert r.rent(500, 7) == 3500
    assert r.rent(500, 7, 1000) == 2500
    assert r.rent(100, 1, 5000) == 0


def test_days_late_round_up():
    due = T0
    assert r.days_late(due, due) == 0
    assert r.days_late(due, due + timedelta(seconds=1)) == 1
    assert r.days_late(due, due + timedelta(days=1, minutes=1)) == 2
    assert r.days_late(due, due + timedelta(days=3)) == 3


def test_on_time_return_takes_the_rent_and_releases_the_rest():
    s, on_time = r.settle_return(50_000, 3_500, 0, 500, T0, T0 - timedelta(hours=1), grace_days=1)
    assert on_time and (s.rent_charged, s.fee_deducted, s.released) == (3_500, 0, 46_500)


def test_a_return_within_the_grace_day_is_still_on_time():
    s, on_time = r.settle_return(50_000, 3_500, 0, 500, T0, T0 + timedelta(hours=23), grace_days=1)
    assert on_time and s.fee_deducted == 0


def test_a_late_return_pays_the_overdue_fee_but_is_not_on_time():
    s, on_time = r.settle_return(50_000, 3_500, 0, 500, T0, T0 + timedelta(days=2, hours=1), grace_days=1)
    assert not on_time and s.fee_deducted == 1_500 and s.released == 45_000


def test_overdue_fee_is_capped_at_what_is_still_frozen():
    s = r.settle_overdue(10_000, 3_500, 2_000, 1_000, T0, T0 + timedelta(days=30))
    assert (s.rent_charged, s.fee_deducted, s.released, s.deducted_total) == (3_500, 4_500, 0, 6_500)


def test_rent_beyond_the_freeze_is_capped_too():
    s = r.settle(1_000, 5_000, 0)
    assert (s.rent_charged, s.released) == (1_000, 0)


def test_deductions_never_go_beyond_what_is_held():
    assert r.deduction_allowed(10_000, 0, 10_000)
    assert not r.deduction_allowed(10_000, 4_000, 6_001)
    assert not r.deduction_allowed(10_000, 0, 0)


def test_the_next_wake_up_is_the_earlier_of_default_and_freeze_lapse():
    due = T0 + timedelta(days=7)
    common = dict(due=due, grace_days=1, lapse_margin=timedelta(days=1), reconcile_after=timedelta(minutes=15))
    assert r.next_wake(S.ACTIVE, T0, freeze_expires_at=T0 + timedelta(days=90), **common) == due + timedelta(days=1)
    assert r.next_wake(S.ACTIVE, T0, freeze_expires_at=T0 + timedelta(days=5), **common) == T0 + timedelta(days=4)
    assert r.next_wake(S.PENDING_FREEZE, T0, freeze_expires_at=None, **common) == T0 + timedelta(minutes=15)
    assert r.next_wake(S.CLOSED, T0, freeze_expires_at=None, **common) is None


@given(held=fen, rent_owed=fen, deducted=fen, fee=fen)
def test_the_ledger_always_balances_and_nothing_is_negative(held, rent_owed, deducted, fee):
    deducted = min(deducted, held)
    s = r.settle(held, rent_owed, deducted, fee)
    assert held == s.rent_charged + s.deducted_total + s.released
    assert min(s.rent_charged, s.fee_deducted, s.released) >= 0
    assert s.rent_charged <= rent_owed and s.fee_deducted <= fee


@given(
    held=fen,
    daily=st.integers(0, 100_000),
    days=st.integers(1, 60),
    deducted=fen,
    late_minutes=st.integers(0, 60 * 24 * 400),
)
def test_overdue_settlement_takes_rent_first_then_the_fee(held, daily, days, deducted, late_minutes):
    deducted = min(deducted, held)
    owed = r.rent(daily, days)
    due = T0 + timedelta(days=days)
    s = r.settle_overdue(held, owed, deducted, daily, due, due + timedelta(minutes=late_minutes))
    assert held == s.rent_charged + s.deducted_total + s.released
    assert s.rent_charged == min(owed, held - deducted)
    if s.released > 0:  # anything released means everything owed was taken
        assert s.rent_charged == owed and s.fee_deducted == daily * r.days_late(
            due, due + timedelta(minutes=late_minutes)
        )
