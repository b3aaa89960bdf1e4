"""The pure group-buy rules: share codes, the team window, the deadline outcome, the device window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import group_buys as rules
from chalicelib.domain.errors import InvalidTransition, ValidationFailed

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def test_share_codes_are_unguessable_and_read_in_any_case():
    codes = {rules.new_share_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = codes.pop()
    assert rules.normalize_code(f" {code.lower()} ") == code
    assert rules.normalize_code("O0I1L-abcd") is None and rules.normalize_code(code[:-1]) is None


def test_the_team_window_never_passes_the_group_buys_end():
    assert rules.team_deadline(NOW, 24, NOW + timedelta(days=3)) == NOW + timedelta(hours=24)
    assert rules.team_deadline(NOW, 24, NOW + timedelta(hours=5)) == NOW + timedelta(hours=5)


@given(size=st.integers(2, 100), seats=st.integers(1, 100), virtual=st.booleans())
def test_a_team_at_its_deadline_is_full_only_when_every_seat_is_taken(size, seats, virtual):
    seats = min(seats, size)
    out = rules.status_at_deadline(seats, size, virtual)
    if seats == size:
        assert out == rules.TeamStatus.FULL
    elif virtual and seats >= 2 and 2 * seats >= size:
        assert out == rules.TeamStatus.VIRTUAL_FULL
    else:
        assert out == rules.TeamStatus.FAILED


def test_the_40_people_half_price_terms_are_valid_and_bad_terms_name_their_field():
    rules.check_terms(10_000, 5_000, 40, 10, 24, NOW, NOW + timedelta(days=7))
    bad = [
        ((10_000, 10_000, 40, 10, 24), "group_price"),
        ((10_000, 5_000, 1, 10, 24), "team_size"),
        ((10_000, 5_000, 101, 10, 24), "team_size"),
        ((10_000, 5_000, 40, 10, 169), "team_hours"),
    ]
    for args, field in bad:
        with pytest.raises(ValidationFailed) as err:
            rules.check_terms(*args, NOW, NOW + timedelta(days=7))
        assert err.value.field == field
    with pytest.raises(ValidationFailed):
        rules.check_quantity(11, 10)


def test_a_closed_team_never_reopens():
    for closed in ("full", "virtual_full", "failed"):
        with pytest.raises(InvalidTransition):
            rules.transition(closed, "open")


def test_the_third_join_from_a_device_within_an_hour_goes_to_review():
    joins = [NOW - timedelta(minutes=59), NOW - timedelta(minutes=30), NOW - timedelta(minutes=61)]
    recent = rules.recent_device_joins(joins, NOW)
    assert len(recent) == 2 and rules.device_goes_to_review(len(recent))
    assert not rules.device_goes_to_review(1)
