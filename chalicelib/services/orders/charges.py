"""Charging an order or a booking: claim -> provider charge -> record, each step guarded.

An object that owes money carries `charge_state` (pending | charging | done | failed),
`charge_amount`, `charge_attempts` and a `due` index entry (due_pk/due_at). One attempt:
1. claim: pending -> charging, charge_attempts n -> n+1 (conditional: only one claimer wins;
   a cancel guarded on `charge_state = pending` can no longer win after this);
2. provider.charge with out_request_no "<id>-charge-<n+1>" (idempotent at the provider: a
   re-run after a crash, or a concurrent confirm of the same attempt, never charges twice);
3. record: charging -> done (the kind's hook sets the status, releases exposure, ...) or back to
   pending with due_at one day later, or failed after the last retry (the hook marks the default).
While charging, due_at = claim + reconcile minutes, so a worker lost between 1 and 3 is resumed
by the sweep with the same request number. A real provider may answer `pending` (Alipay's
asynchronous withholding, Pay Score's collection after complete): its charge.succeeded/failed
notification records the attempt, or, when that is lost, the resumed attempt's answer does (the
adapters ask rather than charge again). An object with a provider agreement not yet confirmed by the
user is not charged: services/orders/pay_later.py settles the agreement first. An installment the user pays
in the app (`charge_mode` in_app) is never charged here: services/orders/installments.py asks about its trade.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain import request_numbers as numbers
from ...domain.charges import ChargeState, transition
from ...domain.errors import DomainError
from ...log import logger
from ...ports import Deps
from ...providers.base import Notification, OpResult
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import Retry, UnitOfWork, set_or_remove
from ..ops import ledger
from . import charge_hooks

C = ChargeState
HOOKS = charge_hooks.HOOKS  # kind -> what its charge succeeding or failing does

KEYS = {"ord": ("ORDER#{}", "ORDER"), "bkg": ("BOOKING#{}", "BOOKING")}  # id prefix -> item key


def due_pk(kind: str, object_id: str) -> str:
    return f"timer#{kind}#{shard_of(object_id)}"


def pending_fields(kind: str, object_id: str, amount: int, at: datetime) -> dict:
    """Attributes that make an object owe `amount` from `at` (merge into its item or update)."""
    return {
        "charge_state": str(C.PENDING),
        "charge_amount": amount,
        "charge_attempts": 0,
        "due_pk": due_pk(kind, object_id),
        "due_at": iso(at),
    }


def charging_guard(item: dict, state: ChargeState = ChargeState.CHARGING, attempts: int | None = None) -> dict:
    """The guard of every write on a charge: still in `state`, at the attempt the caller read (Retry otherwise)."""
    n = int(item["charge_attempts"]) if attempts is None else attempts
    return expect({"charge_state": state, "charge_attempts": n}, on_fail=Retry)


def request_no(item: dict, attempt: int) -> str:
    return numbers.number(item["id"], "charge", attempt)


def attempt(deps: Deps, item: dict, now: datetime) -> None:
    """One guarded attempt on an object that is ready: claim (when pending), charge, record.
    Raises Retry when another worker moved the object first."""
    if item["charge_state"] == "pending":
        item = _claim(deps, item, now)
    result = _charge(deps, item)
    _record(deps, item, result, deps.clock.now())


def attempt_into(deps: Deps, uow: UnitOfWork, item: dict) -> dict:
    """One attempt whose record is staged into a route's `uow`, so the request's Idempotency-Key rides in the
    transaction that moves the money. The claim is the intent, committed before the provider call (a crash
    after it is resumed by the sweep, or by the request's retry, with the same request number). Returns the
    object as it is once `uow` commits."""
    if item["charge_state"] == "pending":
        item = _claim(deps, item, uow.now)
    result = _charge(deps, item)
    if result.status == "pending":
        return _stage_collecting(deps, uow, item, uow.now)
    return stage_record(deps, uow, item, result, uow.now)


def ready(item: dict, now: datetime, force: bool) -> bool:
    state = item.get("charge_state")
    if state not in ("pending", "charging"):
        return False
    return force or parse_iso(item["due_at"]) <= now


def due(item: dict, now: datetime, force: bool) -> bool:
    """The object's timer has rung (an agreement may wait on it before any charge is owed)."""
    return force or (bool(item.get("due_at")) and parse_iso(item["due_at"]) <= now)


def _claim(deps: Deps, item: dict, now: datetime) -> dict:
    n = int(item.get("charge_attempts", 0))
    resume_at = now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    charge_state = str(transition(item["charge_state"], C.CHARGING))
    uow.update(
        item["pk"],
        item["sk"],
        set={
            "charge_state": charge_state,
            "charge_attempts": n + 1,
            "due_at": iso(resume_at),
            "charging_since": iso(now),
            "updated_at": iso(now),
        },
        **charging_guard(item, C.PENDING, n),
    )
    uow.commit()
    return {
        **item,
        "charge_state": "charging",
        "charge_attempts": n + 1,
        "due_at": iso(resume_at),
        "charging_since": iso(now),
    }


def _charge(deps: Deps, item: dict) -> OpResult:
    attempt = int(item["charge_attempts"])
    if int(item["charge_amount"]) == 0:
        # A coupon paid it all: nothing to collect, so nothing is asked of the provider (Alipay refuses
        # 0.00, and no provider's bill would carry it); the charge is done, with no ledger line.
        return OpResult("succeeded")
    return deps.provider(item["provider"]).charge(
        request_no(item, attempt),
        item["member_ref"],
        int(item["charge_amount"]),
        f"{item['type']} {item['id']}",
        agreement_ref=item.get("agreement_ref"),
    )


def _record(deps: Deps, item: dict, result: OpResult, now: datetime) -> None:
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    if result.status == "pending":
        _stage_collecting(deps, uow, item, now)
    else:
        stage_record(deps, uow, item, result, now)
    try:
        uow.commit()
    except DomainError as exc:
        raise Retry(str(exc)) from exc


def _stage_collecting(deps: Deps, uow: UnitOfWork, item: dict, now: datetime) -> dict:
    """The provider holds the charge but has not collected it (Alipay's withholding, Pay Score's collection
    of a completed order). Ask again later: every reconcile interval for the first hour, then hourly, and
    once a day ask the provider to collect again. Still unpaid `collection_days` after the charge began:
    past_due, a default (PRODUCT.md 3: the provider collects, our states follow what it reports)."""
    policy = deps.settings.policy
    since = parse_iso(item.get("charging_since") or item["due_at"])
    if now >= since + timedelta(days=policy.collection_days):
        return stage_record(deps, uow, item, OpResult("failed", reason="unpaid_after_collection"), now, exhausted=True)
    fields: dict = {}
    last = item.get("collection_requested_at")
    if now - since >= timedelta(days=1) and (not last or now - parse_iso(last) >= timedelta(days=1)):
        answer = deps.provider(item["provider"]).request_collection(
            request_no(item, int(item["charge_attempts"])), item.get("agreement_ref") or ""
        )
        fields["collection_requested_at"] = iso(now)
        logger.info("collection requested", extra={"id": item["id"], "answer": answer.status})
    step = timedelta(minutes=policy.reconcile_after_minutes) if now - since < timedelta(hours=1) else timedelta(hours=1)
    changes = {**fields, "due_at": iso(now + step), "updated_at": iso(now)}
    uow.update(item["pk"], item["sk"], set=changes, **charging_guard(item))
    return {**item, **changes}


def stage_record(
    deps: Deps, uow: UnitOfWork, item: dict, result: OpResult, now: datetime, exhausted: bool | None = None
) -> dict:
    """Stage the outcome of the attempt `item` is charging (guarded: only that attempt, only once).
    `exhausted`: no retry whatever the attempt count (the provider gave up collecting). Returns the object as
    it is once `uow` commits."""
    attempt, policy = int(item["charge_attempts"]), deps.settings.policy
    guard = charging_guard(item)
    hook = HOOKS[item["type"]]
    add: dict = {}
    if result.ok:
        fields = hook.charged(deps, uow, item)
        changes = set_or_remove(
            {
                **fields,
                "charge_state": str(transition(C.CHARGING, C.DONE)),
                "charged_at": iso(now),
                "charge_ref": result.provider_ref,
                "updated_at": iso(now),
            },
            remove=["due_pk", "due_at"],
        )
        add = {"charged": int(item["charge_amount"])}
        ledger.stage_movement(uow, item["provider"], request_no(item, attempt), "charge", int(item["charge_amount"]))
    else:
        exhausted = exhausted or attempt > policy.charge_retries
        fields = {
            **hook.failed(deps, uow, item, exhausted),
            "updated_at": iso(now),
            "last_charge_error": result.reason or "charge_failed",
        }
        if exhausted:
            changes = set_or_remove(
                {**fields, "charge_state": str(transition(C.CHARGING, C.FAILED))}, remove=["due_pk", "due_at"]
            )
        else:
            retry_at = now + timedelta(hours=policy.charge_retry_hours)
            changes = set_or_remove(
                {**fields, "due_at": iso(retry_at), "charge_state": str(transition(C.CHARGING, C.PENDING))}
            )
    uow.update(item["pk"], item["sk"], **changes, **({"add": add} if add else {}), **guard)
    after = {k: v for k, v in item.items() if k not in changes["remove"]}
    return {**after, **changes["set"], **{k: int(after.get(k, 0)) + v for k, v in add.items()}}


def attempt_of(note: Notification) -> tuple[str, str, int] | None:
    """(pk, sk, attempt) behind one of our charge numbers `<id>_charge<n>` (others are not charges)."""
    found = numbers.split(note.out_request_no)
    key = KEYS.get(found[0].split("_", 1)[0]) if found else None
    if not found or not key or found[1] != "charge" or found[2] is None:
        return None
    return key[0].format(found[0]), key[1], found[2]
