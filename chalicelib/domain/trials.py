"""Credit trials: gold members take a new product on a deposit-free rental with rent 0 (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from .credit import Tier
from .states import guarded

TRIAL_TIERS = frozenset({Tier.GOLD})
MAX_TRIAL_DAYS = 30


class TrialStatus(StrEnum):
    """A credit trial's status."""

    PENDING_FREEZE = "pending_freeze"  # the deposit-free freeze was asked of the provider
    ACTIVE = "active"  # frozen: the member has the product, rent 0
    RETURNING = "returning"  # returned; the freeze is being released
    RETURNED = "returned"  # released; nothing was paid
    OVERDUE = "overdue"  # not returned by ends_at: the freeze stays, operators follow up
    REJECTED = "rejected"  # refused by the decision or the provider


T = TrialStatus
TRANSITIONS: dict[TrialStatus, frozenset[TrialStatus]] = {
    T.PENDING_FREEZE: frozenset({T.ACTIVE, T.REJECTED}),
    T.ACTIVE: frozenset({T.RETURNING, T.OVERDUE}),
    T.OVERDUE: frozenset({T.RETURNING}),
    T.RETURNING: frozenset({T.RETURNED}),
    T.RETURNED: frozenset(),
    T.REJECTED: frozenset(),
}


def transition(current: str, target: str) -> TrialStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a trial", current, target)


def ends_at(start: datetime, days: int) -> datetime:
    return start + timedelta(days=days)


def freeze_until(start: datetime, days: int, grace_days: int) -> datetime:
    """The freeze outlives the trial by the grace days, so a live trial never outlives its freeze."""
    return start + timedelta(days=days + grace_days)
