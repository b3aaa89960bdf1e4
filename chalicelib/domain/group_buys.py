"""Credit group-buys (拼团, PRODUCT.md 6): a team's status machine, its window, the share code and the
rules a join must pass before its one conditional write (pure: no store, no clock of its own)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import ValidationFailed
from .states import guarded

SIZE_MIN, SIZE_MAX = 2, 100
TEAM_HOURS_MAX = 24 * 7  # a team never outlives the shortest pay-later trial (7 days)
MIN_ACCOUNT_AGE = timedelta(hours=24)
DEVICE_WINDOW = timedelta(hours=1)
DEVICE_JOINS_REVIEW = 3  # the 3rd join from one device within an hour goes to review
DEVICE_RULE = "group_buy_device_joins"

# Share codes: 10 characters from 31 (no 0/O, 1/I/L): ~49 bits, case-insensitive, unguessable.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


class TeamStatus(StrEnum):
    """Where a team stands."""

    OPEN = "open"
    """Opened by its leader: seats may be taken or left until the deadline."""
    FULL = "full"
    """Every seat taken: each seat's order proceeds to its charge."""
    VIRTUAL_FULL = "virtual_full"
    """Completed at the deadline by virtual fill (at least 2 real members and half the size)."""
    FAILED = "failed"
    """Not complete at the deadline: each seat's order is cancelled, nothing charged."""


T = TeamStatus
TRANSITIONS: dict[TeamStatus, frozenset[TeamStatus]] = {
    T.OPEN: frozenset({T.FULL, T.VIRTUAL_FULL, T.FAILED}),
    T.FULL: frozenset(),
    T.VIRTUAL_FULL: frozenset(),
    T.FAILED: frozenset(),
}


def transition(current: str, target: str) -> TeamStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a team", current, target)


class SeatState(StrEnum):
    """Where a seat stands: an order's `team_state`, which decides whether it is charged or cancelled."""

    OPEN = "open"
    """The order holds a seat in an open team: held, no charge timer."""
    FULL = "full"
    """Its team completed: the order proceeds to its charge."""
    VIRTUAL_FULL = "virtual_full"
    """Its team completed by virtual fill: the order proceeds to its charge."""
    FAILED = "failed"
    """Its team failed: the order is cancelled (or, already past charging, only marked)."""
    LEFT = "left"
    """The member left the open team: the order was cancelled, the seat freed."""


SEAT_TRANSITIONS: dict[SeatState, frozenset[SeatState]] = {
    SeatState.OPEN: frozenset({SeatState.FULL, SeatState.VIRTUAL_FULL, SeatState.FAILED, SeatState.LEFT}),
    SeatState.FULL: frozenset(),
    SeatState.VIRTUAL_FULL: frozenset(),
    SeatState.FAILED: frozenset(),
    SeatState.LEFT: frozenset(),
}


def seat_transition(current: str, target: str) -> SeatState:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(SEAT_TRANSITIONS, "a seat", current, target)


def new_share_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """The canonical (upper-case) code, or None when it cannot be one of ours."""
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def check_terms(
    price: int,
    group_price: int,
    team_size: int,
    per_member_limit: int,
    team_hours: int,
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """A group-buy an operator may create (400 naming the field otherwise)."""
    if group_price >= price:
        raise ValidationFailed("group_price must be below price", "group_price")
    if not SIZE_MIN <= team_size <= SIZE_MAX:
        raise ValidationFailed(f"team_size must be {SIZE_MIN}-{SIZE_MAX}", "team_size")
    if per_member_limit < 1:
        raise ValidationFailed("per_member_limit must be at least 1", "per_member_limit")
    if not 1 <= team_hours <= TEAM_HOURS_MAX:
        raise ValidationFailed(f"team_hours must be 1-{TEAM_HOURS_MAX}", "team_hours")
    if ends_at <= starts_at:
        raise ValidationFailed("ends_at must be after starts_at", "ends_at")


def check_quantity(quantity: int, per_member_limit: int) -> None:
    if not 1 <= quantity <= per_member_limit:
        raise ValidationFailed(f"quantity must be 1-{per_member_limit}", "quantity")


def team_deadline(now: datetime, team_hours: int, ends_at: datetime) -> datetime:
    """The team window: `team_hours` from opening, never past the group-buy's end."""
    return min(now + timedelta(hours=team_hours), ends_at)


def status_at_deadline(seats: int, size: int, virtual_fill: bool) -> TeamStatus:
    """A team at its deadline: full if every seat is taken; with virtual fill, at least 2 real members
    and half the size complete it as virtual_full; otherwise failed."""
    if seats >= size:
        return T.FULL
    if virtual_fill and seats >= 2 and seats * 2 >= size:
        return T.VIRTUAL_FULL
    return T.FAILED


def recent_device_joins(joins: list[datetime], now: datetime) -> list[datetime]:
    """The device's join times still inside the window."""
    return [j for j in joins if now - j < DEVICE_WINDOW]


def device_goes_to_review(recent: int) -> bool:
    """`recent`: the device's joins within the hour before this one."""
    return recent + 1 >= DEVICE_JOINS_REVIEW


def account_too_young(created_at: datetime, now: datetime) -> bool:
    return now - created_at < MIN_ACCOUNT_AGE
