"""Installment orders paid by the user in the mini-program (Alipay Huabei): the provider's trade is the charge.

When the order is approved, the provider opens the installment payment (services/orders/orders.py calls
`open_trade`). The sandbox answers `succeeded`: nothing to pay in the app, the charge engine charges the
order as before. Alipay answers `pending` with the trade the mini-program pays (my.tradePay, trade_no in
`provider_params`): the order is written already charging attempt 1 (`charge_mode` in_app) under the
trade's own number `<id>-charge-1`, so the TRADE_SUCCESS notification is recorded by the charge engine's
charge.succeeded handler like any asynchronous charge, once. When that notification is lost, the order's
timer wakes every reconcile interval and `reconcile` asks alipay.trade.query (never pays again). A trade
Alipay closed (unpaid within the pay window) cancels the order: nothing was charged, exposure and coupon
go back; it is never a failed charge or a default.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain.charges import ChargeState
from ...domain.charges import transition as charge_transition
from ...domain.errors import InvalidState, ProviderError
from ...domain.orders import OrderStatus, transition
from ...log import logger
from ...ports import Deps
from ...providers.base import OpResult
from ...store.uow import Retry, UnitOfWork
from . import charges, closing

IN_APP = "in_app"


def open_trade(deps: Deps, item: dict, now: datetime) -> tuple[dict, bool]:
    """(fields to merge into the approved order, whether the charge worker should charge it now)."""
    provider = deps.provider(item["provider"])
    pending = charges.pending_fields("order", item["id"], int(item["payable"]), now)
    number = charges.request_no(item, 1)
    result = provider.open_installments(
        number, item["member_ref"], int(item["payable"]), int(item["installments"]), f"{item['scenario']} installments"
    )
    if result.ok:
        return pending, True
    if result.status == "failed":
        raise ProviderError(f"the provider refused the installment payment: {result.reason or 'refused'}")
    pay_by = now + timedelta(minutes=deps.settings.policy.installment_pay_minutes)
    return {
        **pending,
        "charge_state": str(ChargeState.CHARGING),
        "charge_attempts": 1,
        "charge_mode": IN_APP,
        "trade_ref": result.provider_ref,
        "provider_params": result.provider_params,
        "pay_by": iso(pay_by),
        "due_at": iso(_next_look(deps, now)),
    }, False


def awaiting_payment(item: dict) -> bool:
    return item.get("charge_mode") == IN_APP and item.get("charge_state") == "charging"


def _next_look(deps: Deps, now: datetime) -> datetime:
    return now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)


def _guard(item: dict) -> dict:
    return charges.charging_guard(item)


def stage_unpaid(uow: UnitOfWork, item: dict, reason: str) -> dict:
    """The trade closed unpaid: the order is cancelled, nothing was charged, exposure and coupon back.
    Returns the order as it is once `uow` commits."""
    transition(item["status"], OrderStatus.CANCELLED)
    changes = {
        "status": str(OrderStatus.CANCELLED),
        "charge_state": str(charge_transition(item["charge_state"], ChargeState.CANCELLED)),
        "reason": reason,
        "cancelled_at": iso(uow.now),
        "updated_at": iso(uow.now),
    }
    uow.update(item["pk"], item["sk"], set=changes, remove=["due_pk", "due_at"], **_guard(item))
    closing.stage_released(uow, item, int(item["payable"]))
    uow.audit(
        f"order#{item['id']}",
        "cancelled",
        before={"status": item["status"]},
        after={"status": "cancelled", "reason": reason},
        event="order.cancelled",
    )
    return {k: v for k, v in {**item, **changes}.items() if k not in ("due_pk", "due_at")}


def reconcile(deps: Deps, item: dict, now: datetime, force: bool = False, into: UnitOfWork | None = None) -> dict:
    """The trade's payment is not known yet at the order's timer (or on confirm): ask, and settle. `into`: a
    route's unit of work (confirm), which commits what is staged here with its Idempotency-Key; the
    returned object is then what it is once `into` commits."""
    answer = deps.provider(item["provider"]).query(charges.request_no(item, int(item["charge_attempts"])))
    uow = into or UnitOfWork(deps.table, now, "reconciliation", deps.queues.send)
    if answer is not None and answer.ok:
        fresh = charges.stage_record(deps, uow, item, answer, now)
    elif (answer is not None and answer.status == "failed") or (answer is None and now >= parse_iso(item["pay_by"])):
        fresh = stage_unpaid(uow, item, "installment_not_paid")
    elif force:
        raise InvalidState("the installment payment is not made in the app yet")
    else:  # still payable (Alipay closes it after the pay window): look again later
        fresh = {**item, "due_at": iso(_next_look(deps, now))}
        uow.update(item["pk"], item["sk"], set={"due_at": fresh["due_at"]}, **_guard(item))
    if into is not None:
        return fresh
    try:
        uow.commit()
    except Retry:
        logger.info("installment reconciliation lost to a notification", extra={"order_id": item["id"]})
    return deps.table.get(item["pk"], item["sk"]) or fresh


def on_failed_answer(uow: UnitOfWork, item: dict, result: OpResult) -> None:
    """A trade notification saying the in-app payment closed unpaid."""
    stage_unpaid(uow, item, "installment_not_paid")
