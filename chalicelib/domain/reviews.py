"""A risk review an operator decides (pure)."""

from __future__ import annotations

from enum import StrEnum

from .states import guarded


class ReviewStatus(StrEnum):
    """Where a review stands."""

    PENDING = "pending"
    """A rule fired: the object waits on the queue for an operator."""
    APPROVED = "approved"
    """The operator let the object go on, decided afresh without the risk rules."""
    REJECTED = "rejected"
    """The operator refused: the object is closed."""


R = ReviewStatus
TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    R.PENDING: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset(),
    R.REJECTED: frozenset(),
}


def transition(current: str, target: str) -> ReviewStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a review", current, target)
