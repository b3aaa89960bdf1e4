"""charge_due_orders: orders and bookings whose charge is due (charge_at, a retry, a lost worker)
go to `order-charges`; the worker charges each under the guards of services/orders/charges.py. The same
timer (kind "order") rings for an order's refund left pending or lost (services/orders/refunds.py): the
worker finishes it with the same request number."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.orders import billing, refunds
from .registry import enqueue_due

CHARGED_KINDS = ("order", "booking")


def charge_due_orders(deps: Deps, now: datetime) -> int:
    return sum(enqueue_due(deps, kind, "order-charges", now) for kind in CHARGED_KINDS)


def charge_one(deps: Deps, body: dict) -> None:
    item = billing.run(deps, body["pk"], body["sk"])
    if item and item.get("refund_pending"):
        refunds.resume(deps, item)
