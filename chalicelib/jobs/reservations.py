"""expire_reservation_offers: offers past their 3 days expire and the place passes on."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.orders import reservations
from .registry import enqueue_due


def expire_reservation_offers(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, "reservation", "reservation-timers", now)


def expire_one(deps: Deps, body: dict) -> None:
    reservations.expire_offer(deps, body["pk"], body["sk"])
