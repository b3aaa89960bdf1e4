"""Webhook deliveries: the retry sweep (due timers on the sparse index, on the application clock) and
the delivery worker (one attempt per message)."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.webhooks import delivery
from ..services.webhooks.log import QUEUE, TIMER
from .registry import enqueue_due


def retry_webhooks(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, TIMER, QUEUE, now)


def deliver(deps: Deps, body: dict) -> None:
    delivery.attempt(deps, body)
