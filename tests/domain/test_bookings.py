"""Booking fees and reservation order (PRODUCT.md section 4), no AWS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import bookings as rules
from chalicelib.domain.bookings import BookingStatus as B
from chalicelib.domain.errors import InvalidTransition, ValidationFailed
from chalicelib.domain.policy import Policy

P = Policy()
START = datetime(2026, 6, 1, 10, tzinfo=timezone.utc)
H = timedelta(hours=1)


@pytest.mark.parametrize("tier", ["silver", "gold"])
def test_silver_and_gold_cancel_free_until_the_start(tier):
    assert rules.cancellation_fee(tier, 100_000, START, START - timedelta(seconds=1), P) == 0


@pytest.mark.parametrize("tier", ["none", "normal"])
def test_others_are_free_until_24h_before_then_pay_20_percent(tier):
    assert rules.cancellation_fee(tier, 10_000, START, START - 24 * H, P) == 0
    assert rules.cancellation_fee(tier, 10_000, START, START - 24 * H + timedelta(milliseconds=1), P) == 2_000
    assert rules.cancellation_fee(tier, 10_000, START, START - H, P) == 2_000


def test_the_fee_is_capped_at_50_yuan():
    assert rules.cancellation_fee("normal", 25_000, START, START - H, P) == 5_000
    assert rules.cancellation_fee("normal", 25_005, START, START - H, P) == 5_000
    assert rules.cancellation_fee("normal", 24_999, START, START - H, P) == 4_999


def test_once_started_a_booking_cannot_be_cancelled():
    with pytest.raises(InvalidTransition):
        rules.cancellation_fee("gold", 10_000, START, START, P)


def test_a_start_in_the_past_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        rules.require_future_start(START, START)
    assert exc.value.field == "starts_at"


def test_booking_machine():
    assert rules.transition(B.CONFIRMED, B.CANCELLED) == B.CANCELLED
    assert rules.transition(B.CONFIRMED, B.DISPUTED) == B.DISPUTED
    assert rules.transition(B.PENDING_CHARGE, B.CHARGED) == B.CHARGED
    with pytest.raises(InvalidTransition):
        rules.transition(B.CHARGED, B.CANCELLED)
    with pytest.raises(InvalidTransition):
        rules.transition(B.CANCELLED, B.PENDING_CHARGE)
    assert set(rules.TRANSITIONS) == set(B)


def test_reservations_queue_gold_first_then_by_time():
    keys = sorted(
        [
            rules.queue_sort_key("silver", "2026-01-01T00:00:00.000Z", "a"),
            rules.queue_sort_key("gold", "2026-01-02T00:00:00.000Z", "b"),
            rules.queue_sort_key("silver", "2026-01-01T00:00:01.000Z", "c"),
            rules.queue_sort_key("gold", "2026-01-03T00:00:00.000Z", "d"),
        ]
    )
    assert [k.rsplit("#", 1)[1] for k in keys] == ["b", "d", "a", "c"]


def test_an_offer_is_held_3_days():
    assert rules.offer_expires_at(START, P) == START + timedelta(days=3)


def test_a_trial_moves_forward_only():
    from chalicelib.domain import trials
    from chalicelib.domain.trials import TrialStatus as T

    assert trials.transition(T.PENDING_FREEZE, T.ACTIVE) == T.ACTIVE
    assert trials.transition(T.OVERDUE, T.RETURNING) == T.RETURNING
    for src, dst in [(T.RETURNED, T.RETURNING), (T.PENDING_FREEZE, T.RETURNING), (T.REJECTED, T.ACTIVE)]:
        with pytest.raises(InvalidTransition):
            trials.transition(src, dst)
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert trials.freeze_until(start, 7, 1) - trials.ends_at(start, 7) == timedelta(days=1)
