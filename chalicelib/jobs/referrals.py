"""hold_referral_rewards: referrals whose 7-day hold has ended go to `referral-timers`; the worker grants
the reward (or opens the self-referral review) under the referral's status guard."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.growth import referrals
from .registry import enqueue_due


def hold_referral_rewards(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, referrals.TIMER_KIND, referrals.QUEUE, now)


def referral_timer(deps: Deps, body: dict) -> None:
    referrals.on_timer(deps, body["pk"], body["sk"])
