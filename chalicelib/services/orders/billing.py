"""The billing timer of an order or booking, and the provider's answers to its charges: a due object is
handed to its agreement (pay_later: confirm or close it first), its in-app installment (installments: ask,
never pay) or the charge engine (charges: claim -> charge -> record). It sits above the three, so the
engine never reaches back into the agreement or the installment."""

from __future__ import annotations

from ...log import logger
from ...ports import Deps
from ...providers.base import Notification, OpResult
from ...store.uow import Retry, UnitOfWork
from . import charges, installments, pay_later


def run(deps: Deps, pk: str, sk: str, force: bool = False, item: dict | None = None) -> dict | None:
    """Charge the object if it is due (or `force`: confirm now). Safe to run twice or concurrently.
    `item`: a fresh read the caller already made (saves the first GetItem)."""
    for _ in range(6):
        item = item or deps.table.get(pk, sk)
        now = deps.clock.now()
        if item and item.get("agreement_close") and not item.get("agreement_closed_at"):
            # ended uncharged: the timer only retries closing the provider's order
            return pay_later.close(deps, item, now) if charges.due(item, now, False) else item
        if item and item.get("agreement_state") == "pending" and charges.due(item, now, force):
            item = pay_later.reconcile(deps, item, now, force)
        if not item or not charges.ready(item, now, force):
            return item
        if item.get("charge_mode") == "in_app" and item["charge_state"] == "charging":
            return installments.reconcile(deps, item, now, force)  # the user pays the trade in the app
        try:
            charges.attempt(deps, item, now)
        except Retry:
            item = None
            continue
        return deps.table.get(pk, sk)
    raise Retry("charge kept losing races")


def charge_now(deps: Deps, uow: UnitOfWork, item: dict) -> dict:
    """A member's request to be charged now (orders confirm, bookings complete), with the worker's code: the
    agreement is settled first in its own transaction (the provider's answer, as the worker records it; a
    charge then writes the same item, which one transaction cannot touch twice); the last step, the one that
    moves the money, is staged into the route's `uow`, so its Idempotency-Key rides in it. Returns the object
    as it is once `uow` commits."""
    now = uow.now
    if item.get("agreement_close") and not item.get("agreement_closed_at"):
        return pay_later.close(deps, item, now) or item  # ended uncharged: only the provider's order to close
    if item.get("agreement_state") == "pending":
        item = pay_later.reconcile(deps, item, now, force=True) or item
    if not charges.ready(item, now, True):
        return item
    if item.get("charge_mode") == "in_app" and item["charge_state"] == "charging":
        return installments.reconcile(deps, item, now, force=True, into=uow)  # the user pays in the app
    return charges.attempt_into(deps, uow, item)


def on_charge_answer(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    """The provider's answer to an attempt still charging; anything else (an older attempt, a charge
    already recorded, another provider's number) changes nothing."""
    found = charges.attempt_of(note)
    item = deps.table.get(found[0], found[1]) if found else None
    if (
        not found
        or not item
        or item.get("charge_state") != "charging"
        or int(item["charge_attempts"]) != found[2]
        or item.get("provider") != provider
    ):
        return
    if note.amount is not None and note.amount != int(item["charge_amount"]):
        logger.warning("charge notification for another amount ignored", extra={"id": item["id"]})
        return
    ok = note.kind == "charge.succeeded"
    result = OpResult("succeeded" if ok else "failed", note.provider_ref, None if ok else "provider_refused")
    if not ok and item.get("charge_mode") == "in_app":
        installments.on_failed_answer(uow, item, result)  # an in-app payment closed unpaid: cancelled
        return
    charges.stage_record(deps, uow, item, result, uow.now)
