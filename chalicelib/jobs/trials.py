"""settle_trials: trial freezes still pending, trials past their end, returns a crash interrupted."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.rentals import trials
from .registry import enqueue_due


def settle_trials(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, "trial", "order-timers", now)


def wake_trial(deps: Deps, body: dict) -> None:
    trials.wake(deps, body["pk"], body["sk"])
