"""Rental sweeps and workers: deduct_overdue_rentals (timer sweep), release_freezes (settlement worker),
and the rental-timers worker (overdue default, freeze lapse, reconciliation, lost settlement messages)."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.rentals import settlement as rental_settlement
from ..services.rentals import timer as rental_timers
from .registry import enqueue_due


def deduct_overdue_rentals(deps: Deps, now: datetime) -> int:
    """Rentals whose timer is due (overdue, freeze lapsing, freeze pending too long) -> rental-timers."""
    return enqueue_due(deps, "rental", "rental-timers", now)


def rental_timer(deps: Deps, body: dict) -> None:
    rental_timers.on_timer(deps, body["pk"].split("#", 1)[1])


def release_freezes(deps: Deps, body: dict) -> None:
    rental_settlement.settle_returned(deps, body["rental_id"])
