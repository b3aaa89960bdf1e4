"""The pay-later agreement with the provider (`agreement_state`), when the member confirms it in the app (pure)."""

from __future__ import annotations

from enum import StrEnum

from .states import guarded


class AgreementState(StrEnum):
    """Where a provider agreement awaiting the member's confirmation stands."""

    PENDING = "pending"
    """Opened at the provider; the member has not confirmed it yet, so nothing may be charged under it."""
    CONFIRMED = "confirmed"
    """The member confirmed: the charge goes under it."""
    REFUSED = "refused"
    """Refused, or never confirmed by the deadline: the object is cancelled before any charge."""
    ABANDONED = "abandoned"
    """The member cancelled the object while it was still pending: never guaranteed, nothing to charge."""


A = AgreementState
TRANSITIONS: dict[AgreementState, frozenset[AgreementState]] = {
    A.PENDING: frozenset({A.CONFIRMED, A.REFUSED, A.ABANDONED}),
    A.CONFIRMED: frozenset(),
    A.REFUSED: frozenset(),
    A.ABANDONED: frozenset(),
}


def transition(current: str, target: str) -> AgreementState:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "an agreement", current, target)
