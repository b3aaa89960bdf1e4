"""What an order or a booking does when its charge succeeds or fails: the one table of charge hooks.

A hook stages the kind's other writes and returns the fields to set on the object itself (one
transaction may touch an item once, so the object's own update is the engine's, charges.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...domain import bookings as booking_rules
from ...domain import orders as order_rules
from ...domain.bookings import BookingStatus
from ...domain.orders import OrderStatus
from ...ports import Deps
from ...store.uow import UnitOfWork
from . import closing

OnCharged = Callable[[Deps, UnitOfWork, dict], dict]
OnFailed = Callable[[Deps, UnitOfWork, dict, bool], dict]  # (.., exhausted)


@dataclass(frozen=True)
class Hooks:
    """What a kind does when its charge succeeds or fails."""

    charged: OnCharged
    failed: OnFailed


def order_charged(deps: Deps, uow: UnitOfWork, item: dict) -> dict:
    order_rules.transition(item["status"], OrderStatus.CHARGED)
    closing.stage_paid(uow, item, int(item["payable"]), on_time=int(item["charge_attempts"]) == 1)
    uow.audit(
        f"order#{item['id']}",
        "charged",
        before={"status": item["status"]},
        after={"status": "charged", "amount": int(item["charge_amount"])},
        event="order.charged",
    )
    return {"status": str(OrderStatus.CHARGED)}


def order_failed(deps: Deps, uow: UnitOfWork, item: dict, exhausted: bool) -> dict:
    attempt = int(item["charge_attempts"])
    if not exhausted:
        uow.audit(f"order#{item['id']}", "charge_failed", data={"attempt": attempt}, event="order.charge_failed")
        return {}
    order_rules.transition(item["status"], OrderStatus.PAST_DUE)
    closing.stage_default(uow, item)
    uow.audit(
        f"order#{item['id']}",
        "past_due",
        before={"status": item["status"]},
        after={"status": "past_due"},
        event="order.past_due",
    )
    return {"status": str(OrderStatus.PAST_DUE)}


def booking_charged(deps: Deps, uow: UnitOfWork, item: dict) -> dict:
    if item["status"] == BookingStatus.CANCELLED:
        uow.audit(
            f"booking#{item['id']}",
            "fee_charged",
            after={"amount": int(item["charge_amount"])},
            event="booking.fee_charged",
        )
        return {"fee_charged": True}
    booking_rules.transition(item["status"], BookingStatus.CHARGED)
    closing.stage_paid(uow, item, int(item["price"]), on_time=int(item["charge_attempts"]) == 1)
    uow.audit(
        f"booking#{item['id']}",
        "charged",
        before={"status": item["status"]},
        after={"status": "charged", "amount": int(item["charge_amount"])},
        event="booking.charged",
    )
    return {"status": str(BookingStatus.CHARGED)}


def booking_failed(deps: Deps, uow: UnitOfWork, item: dict, exhausted: bool) -> dict:
    if not exhausted:
        uow.audit(
            f"booking#{item['id']}",
            "charge_failed",
            data={"attempt": int(item["charge_attempts"])},
            event="booking.charge_failed",
        )
        return {}
    closing.stage_default(uow, item)
    uow.audit(f"booking#{item['id']}", "past_due", before={"status": item["status"]}, event="booking.past_due")
    if item["status"] == BookingStatus.CANCELLED:
        return {"fee_past_due": True}
    booking_rules.transition(item["status"], BookingStatus.PAST_DUE)
    return {"status": str(BookingStatus.PAST_DUE)}


HOOKS: dict[str, Hooks] = {
    "order": Hooks(order_charged, order_failed),
    "booking": Hooks(booking_charged, booking_failed),
}
