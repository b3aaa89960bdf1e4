"""The charge of an order or a booking (`charge_state`): claim, provider charge, record (pure)."""

from __future__ import annotations

from enum import StrEnum

from .states import guarded


class ChargeState(StrEnum):
    """Where the charge an object owes stands."""

    HELD = "held"
    """A group-buy seat's charge while its team is open: never due, never charged; owed once the team fills."""
    PENDING = "pending"
    """Owed: the timer (or a confirm) claims it for an attempt."""
    CHARGING = "charging"
    """Claimed: one attempt is at the provider (or the member pays in the app); its outcome is awaited."""
    DONE = "done"
    """Charged: the money is ours."""
    FAILED = "failed"
    """Every attempt failed (or the provider gave up collecting): a default."""
    CANCELLED = "cancelled"
    """The object ended before any charge: nothing was ever taken."""


C = ChargeState
TRANSITIONS: dict[ChargeState, frozenset[ChargeState]] = {
    C.HELD: frozenset({C.PENDING, C.CANCELLED}),  # the team filled / failed
    C.PENDING: frozenset({C.CHARGING, C.CANCELLED}),
    C.CHARGING: frozenset(
        {C.DONE, C.PENDING, C.FAILED, C.CANCELLED}
    ),  # pending: retried later; cancelled: unpaid in-app
    C.DONE: frozenset(),
    C.FAILED: frozenset(),
    C.CANCELLED: frozenset(),
}


def transition(current: str, target: str) -> ChargeState:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a charge", current, target)
