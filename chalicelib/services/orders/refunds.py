"""Refunding a charged order: claim -> provider refund -> record, never more than was charged.

The claim writes `refund_pending` {n, amount} guarded on the refund count, so two concurrent
refunds cannot both take the money left; the provider call carries "<id>-refund-<n>" so a resumed
refund (a crash between the steps) never pays back twice. A refund the provider answers `pending`
keeps its claim: a later request finishes it first (same request number), then does its own; the
client's Idempotency-Key rides on the claim, so its retry finishes that refund and starts no other.

The claim also puts the order on the `due` index (due_pk "timer#order#<shard>", due_at = claim +
policy.reconcile_after_minutes), like a charge being charged: a refund left pending, or lost between
the provider call and its record, is resumed by the `charge_due_orders` sweep and the `order-charges`
worker (`resume`) with the same request number. A refundable order is charged (charge_state done),
so its charge timer is gone and the index entry is the refund's alone; recording (or releasing) the
claim removes it. The record stays guarded on `refund_pending.n`, so the worker and a member's
request finishing the same refund record it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain import orders as rules
from ...domain import request_numbers as numbers
from ...domain.errors import InvalidState, ProviderError
from ...domain.orders import OrderStatus
from ...ports import Deps
from ...providers.base import Notification, OpResult
from ...store.uow import Retry, UnitOfWork
from ..ops import ledger
from . import charges, orders

REFUNDABLE = (OrderStatus.CHARGED, OrderStatus.PARTIALLY_REFUNDED)


def _key_of(member_id: str, request_key: str | None) -> str | None:
    return hashlib.sha256(f"{member_id}\n{request_key}".encode()).hexdigest()[:32] if request_key else None


def refund(
    deps: Deps, uow: UnitOfWork, member_id: str, order_id: str, requested: int | None, request_key: str | None = None
) -> dict:
    """Refund `requested` fen (default: everything left) of a charged order. `request_key`: the client's
    Idempotency-Key; its retry after a failure (a 502 once the provider paid back) finishes that refund
    and does not start a second one.

    Claim -> provider refund -> record: the claim is an intent committed before the provider call (its
    request number is stable, so a crash after it is finished by the worker or by this request's retry); the
    record, the money-moving write, is staged into the route's `uow`, so the route's Idempotency-Key rides
    in it. A refund someone else left pending is finished first, in its own transaction, as the worker would."""
    key = _key_of(member_id, request_key)
    item = orders.load_own(deps, member_id, order_id)
    pending = item.get("refund_pending")
    if pending and key and pending.get("key") == key:
        return orders.view(_finish_into(deps, uow, item, pending))  # this request's own claim, from a try cut short
    if pending:
        _finish(deps, item, pending)
        item = orders.load_own(deps, member_id, order_id)
        if item.get("refund_pending"):
            raise InvalidState("a refund is still being processed by the provider")
    if key and key in (item.get("refund_keys") or set()):
        return orders.view(item)  # this request's refund is done (now, or by whoever finished it)
    if item["status"] not in REFUNDABLE:
        raise InvalidState(f"an order that is {item['status']} cannot be refunded")
    amount = rules.refund_amount(int(item["charged"]), int(item["refunded"]), requested)
    rules.transition(item["status"], rules.status_after_refund(int(item["charged"]), int(item["refunded"]) + amount))
    if item.get("due_pk"):  # never clobber another timer on this item (a charged order has none)
        raise InvalidState("the order has work in progress; try again later")
    pending = {"n": int(item.get("refund_count", 0)) + 1, "amount": amount, **({"key": key} if key else {})}
    claim = UnitOfWork(deps.table, uow.now, uow.actor, deps.queues.send)
    changes = {
        "refund_pending": pending,
        "due_pk": charges.due_pk("order", item["id"]),
        "due_at": _reconcile_at(deps, uow.now),
    }
    claim.update(
        item["pk"],
        item["sk"],
        set=changes,
        condition="refund_count = :n AND attribute_not_exists(refund_pending) AND attribute_not_exists(due_pk)",
        values={":n": pending["n"] - 1},
        on_fail=Retry,
    )
    claim.commit()  # a lost race raises Retry: the route runs the request again on a fresh read
    return orders.view(_finish_into(deps, uow, {**item, **changes}, pending))


def _finish_into(deps: Deps, uow: UnitOfWork, item: dict, pending: dict) -> dict:
    """Ask the provider to pay back the claimed refund and stage its record into `uow` (a route's). Pending at
    the provider: nothing staged (the claim stays). Refused: the claim is released in its own transaction and
    ProviderError raised (an error answer is not the Idempotency-Key's to keep). Returns the order as it is
    once `uow` commits."""
    result = _ask(deps, item, pending)
    if result.status == "pending":
        return item
    if not result.ok:
        _finish(deps, item, pending, result=result)
    return stage_outcome(uow, item, pending, True)


def _reconcile_at(deps: Deps, now: datetime) -> str:
    return iso(now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes))


def resume(deps: Deps, item: dict) -> None:
    """The worker's turn on a refund still claimed when its timer rang: first move the timer on (only
    one delivery wins; a lost worker or a `pending` answer is due again later), then finish it with
    the same request number. A refusal releases the claim and is not the worker's error."""
    pending, now = item.get("refund_pending"), deps.clock.now()
    if not pending or not item.get("due_at") or parse_iso(item["due_at"]) > now:
        return  # finished already (by a request or an earlier delivery), or not due yet
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    uow.update(
        item["pk"],
        item["sk"],
        set={"due_at": _reconcile_at(deps, now)},
        condition="refund_pending.n = :n AND due_at = :d",
        values={":n": int(pending["n"]), ":d": item["due_at"]},
        on_fail=Retry,
    )
    try:
        uow.commit()
    except Retry:
        return  # another delivery (or the member's request) took this turn
    _finish(deps, item, pending, raise_refused=False)


def _ask(deps: Deps, item: dict, pending: dict) -> OpResult:
    return deps.provider(item["provider"]).refund(
        numbers.number(item["id"], "rfd", int(pending["n"])),
        item.get("charge_ref") or "",
        item["member_ref"],
        int(pending["amount"]),
        charged_total=int(item["charged"]),
    )


def _finish(deps: Deps, item: dict, pending: dict, raise_refused: bool = True, result: OpResult | None = None) -> None:
    """Finish a claimed refund in its own transaction (the worker's, or another request's claim)."""
    result = result or _ask(deps, item, pending)
    if result.status == "pending":
        return  # still in flight at the provider: refund_pending stays, so the next request finishes it first
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    fresh = deps.table.get(item["pk"], item["sk"]) or item if result.ok else item
    stage_outcome(uow, fresh, pending, result.ok)
    _commit_once(uow)
    if not result.ok and raise_refused:
        raise ProviderError(f"the provider refused the refund: {result.reason or result.status}")


def stage_outcome(uow: UnitOfWork, item: dict, pending: dict, paid_back: bool) -> dict:
    """Record the claimed refund `pending` as paid back (or release its claim), once: guarded on its number.
    Returns the order as it is once `uow` commits."""
    n, amount = int(pending["n"]), int(pending["amount"])
    guard = {"condition": "refund_pending.n = :n", "values": {":n": n}, "on_fail": Retry}
    gone = ("refund_pending", "due_pk", "due_at")
    after = {k: v for k, v in item.items() if k not in gone}
    if not paid_back:
        uow.update(item["pk"], item["sk"], remove=list(gone), **guard)
        return after
    status = rules.status_after_refund(int(item["charged"]), int(item["refunded"]) + amount)
    uow.update(
        item["pk"],
        item["sk"],
        set={"status": str(status), "refund_count": n, "refunded_at": iso(uow.now)},
        add={"refunded": amount, **({"refund_keys": {pending["key"]}} if pending.get("key") else {})},
        remove=["refund_pending", "due_pk", "due_at"],
        **guard,
    )
    uow.audit(
        f"order#{item['id']}",
        "refunded",
        before={"status": item["status"]},
        after={"status": str(status), "amount": amount},
        event="order.refunded",
    )
    ledger.stage_movement(uow, item["provider"], numbers.number(item["id"], "rfd", n), "refund", amount)
    keys = set(item.get("refund_keys") or set()) | ({pending["key"]} if pending.get("key") else set())
    return {
        **after,
        "status": str(status),
        "refund_count": n,
        "refunded_at": iso(uow.now),
        "refunded": int(item["refunded"]) + amount,
        **({"refund_keys": keys} if keys else {}),
    }


def on_refund_answer(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    """The provider's later answer to a refund it left pending (WeChat REFUND.*): recorded once, and only
    for the refund still claimed under that number; anything else (a repeat, an echo) changes nothing."""
    found = numbers.split(note.out_request_no)
    if not found or found[1] != "rfd" or not found[0].startswith("ord_"):
        return
    item = deps.table.get(f"ORDER#{found[0]}", "ORDER")
    pending = (item or {}).get("refund_pending")
    if not item or not pending or int(pending["n"]) != found[2] or item.get("provider") != provider:
        return
    stage_outcome(uow, item, pending, note.kind == "refund.succeeded")


def _commit_once(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except Retry:
        pass  # another request finished this refund with the same request number
