"""Pay-later agreements with a real provider: the user confirms the provider's pay-later order (Zhima
pay-after-use, a Pay Score service order) in the mini-program before anything can be charged.

An order whose provider answers `pending` when it is opened carries `agreement_state` pending, our
number for the provider's order (`agreement_no`) and the `provider_params` the mini-program opens.
The confirmation comes by notification (paylater.confirmed / paylater.refused); when that is lost, the
charge sweep asks: while pending, the order's timer wakes every reconcile interval (services/orders/charges.py
hands a pending agreement here before any claim). Refused, or still unconfirmed at charge_at: the order
is cancelled, nothing was ever charged. The sandbox needs no confirmation and stores none of this.

Bookings use the same agreement (opened for the price when the booking is confirmed, due by the start):
confirmed, the booking's charge on completion and a late cancellation's fee go under it; never confirmed
by the start, the booking is cancelled without a fee (TERMS below holds what differs per kind).

An agreement that ends without a charge (the member cancels, never confirmed by the deadline, a booking's
fee waived) is closed at the provider (close_pay_later) AFTER our own state change commits: that change
stages `agreement_close` (the reason) and the object's timer, the close runs after the commit and records
`agreement_closed_at` once (conditional write), dropping the timer. A provider that cannot answer leaves
the timer: the charge sweep (charges.run) hands the object back here until the close is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from ...clock import iso, parse_iso
from ...domain import bookings as booking_rules
from ...domain import orders as order_rules
from ...domain import request_numbers as numbers
from ...domain.agreements import AgreementState, transition
from ...domain.charges import ChargeState
from ...domain.errors import InvalidState, ProviderError
from ...log import logger
from ...ports import Deps
from ...providers.base import Notification
from ...store.guards import ABSENT, expect
from ...store.uow import Retry, UnitOfWork
from .. import confirm_params
from . import charges, closing

PURPOSE = "pl"  # the agreement's number: <object id>_pl


@dataclass(frozen=True)
class Terms:
    """What an agreement covers on one kind of object."""

    deadline: str  # the field by which the user must confirm
    amount: str  # the amount the agreement covers (released on refusal)
    charge_waits: bool  # after confirmation the timer runs on to the charge at `deadline`
    cancel: Callable[[str, str], object]  # the kind's transition guard, to `cancelled`
    extra: dict  # fields set on refusal besides the status


TERMS = {
    "order": Terms("charge_at", "payable", True, order_rules.transition, {"charge_state": "cancelled"}),
    "booking": Terms("starts_at", "price", False, booking_rules.transition, {"cancellation_fee": 0}),
}


def agreement_no(order_id: str) -> str:
    return numbers.number(order_id, PURPOSE)


def open_agreement(deps: Deps, order: dict, now: datetime) -> dict:
    """Ask the provider to open the object's pay-later agreement; the fields to merge into it (none when
    the provider needs no confirmation). A refusal is a 502: nothing is written."""
    terms = TERMS[order["type"]]
    if int(order[terms.amount]) == 0:
        return {}  # a coupon paid it all: nothing is paid later, so no provider order to confirm (none takes 0)
    charge_at = parse_iso(order[terms.deadline])
    title = f"{order['scenario']} pay later" if order["type"] == "order" else f"booking {order['service_id']}"
    result = deps.provider(order["provider"]).open_pay_later(
        agreement_no(order["id"]), order["member_ref"], int(order[terms.amount]), title, charge_at
    )
    if result.ok:
        return {}
    if result.status == "failed":
        raise ProviderError(f"the provider refused the pay-later order: {result.reason or 'refused'}")
    fields = {
        "agreement_state": str(AgreementState.PENDING),
        "agreement_no": agreement_no(order["id"]),
        "provider_params": result.provider_params,
        **confirm_params.stamp(now),
        "due_at": iso(_next_look(deps, now, charge_at)),
    }
    if not terms.charge_waits:  # nothing else keeps a timer on it: the agreement's own
        fields["due_pk"] = charges.due_pk(order["type"], order["id"])
    return fields


def _next_look(deps: Deps, now: datetime, charge_at: datetime) -> datetime:
    return min(charge_at, now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes))


def _guard(item: dict) -> dict:
    """Still awaiting the member's confirmation, nothing charged yet, in the status the caller read."""
    return expect(
        {
            "status": item["status"],
            "agreement_state": AgreementState.PENDING,
            "charge_state": (ABSENT, ChargeState.PENDING),
        },
        on_fail=Retry,
    )


def stage_confirmed(uow: UnitOfWork, item: dict, agreement_ref: str | None) -> dict:
    """The user confirmed: the agreement the charge goes under; the timer back on charge_at."""
    terms = TERMS[item["type"]]
    changes = {
        "agreement_state": str(transition(item["agreement_state"], AgreementState.CONFIRMED)),
        "agreement_ref": agreement_ref or item["agreement_no"],
        "updated_at": iso(uow.now),
    }
    if terms.charge_waits:
        changes["due_at"] = item[terms.deadline]
    uow.update(
        item["pk"], item["sk"], set=changes, remove=[] if terms.charge_waits else ["due_pk", "due_at"], **_guard(item)
    )
    uow.audit(f"{item['type']}#{item['id']}", "agreement_confirmed", data={"agreement_ref": changes["agreement_ref"]})
    fresh = {**item, **changes}
    if not terms.charge_waits:
        fresh.pop("due_pk", None)
        fresh.pop("due_at", None)
    return fresh


def stage_refused(uow: UnitOfWork, item: dict, reason: str, deps: Deps | None = None) -> dict:
    """Refused or never confirmed: cancelled before any charge, exposure and coupon back. `deps`: close
    the provider's order too (never confirmed; a refusal was the provider's own close)."""
    terms = TERMS[item["type"]]
    terms.cancel(item["status"], "cancelled")
    changes = {
        "status": "cancelled",
        **terms.extra,
        "agreement_state": str(transition(item["agreement_state"], AgreementState.REFUSED)),
        "reason": reason,
        "cancelled_at": iso(uow.now),
        "updated_at": iso(uow.now),
    }
    if deps is not None:
        changes.update(stage_close(deps, uow, item, reason))
    uow.update(item["pk"], item["sk"], set=changes, remove=without(["due_pk", "due_at"], changes), **_guard(item))
    closing.stage_released(uow, item, int(item[terms.amount]))
    uow.audit(
        f"{item['type']}#{item['id']}",
        "cancelled",
        before={"status": item["status"]},
        after={"status": "cancelled", "reason": reason},
        event=f"{item['type']}.cancelled",
    )
    return {**item, **changes}


def reconcile(deps: Deps, item: dict, now: datetime, force: bool = False) -> dict | None:
    """The agreement is still pending at the object's timer (or on confirm): ask the provider and settle."""
    deadline = parse_iso(item[TERMS[item["type"]].deadline])
    answer = deps.provider(item["provider"]).query(item["agreement_no"])
    uow = UnitOfWork(deps.table, now, "reconciliation", deps.queues.send)
    if answer is not None and answer.ok:
        fresh = stage_confirmed(uow, item, answer.provider_ref)
    elif (answer is not None and answer.status == "failed") or now >= deadline:
        fresh = stage_refused(uow, item, "pay_later_not_confirmed", deps)
    elif force:
        raise InvalidState("the pay-later order is not confirmed with the provider yet")
    else:
        wake = iso(_next_look(deps, now, deadline))
        uow.update(item["pk"], item["sk"], set={"due_at": wake}, **_guard(item))
        fresh = {**item, "due_at": wake}
    try:
        uow.commit()
    except Retry:
        logger.info("agreement reconciliation lost to a notification", extra={"order_id": item["id"]})
        return deps.table.get(item["pk"], item["sk"])
    return fresh


# -- closing an agreement that ends without a charge -----------------------------------------------


def stage_close(deps: Deps, uow: UnitOfWork, item: dict, reason: str) -> dict:
    """The object ends uncharged in `uow`: the fields to merge into ITS update (the close reason and the
    timer that retries the close); the close itself runs once `uow` has committed. Nothing when no
    agreement was opened with a provider that confirms in the app (the sandbox), or already closing."""
    if not item.get("agreement_no") or item.get("agreement_close") or item.get("agreement_closed_at"):
        return {}
    if not deps.provider(item["provider"]).confirms_in_app:
        return {}
    fields = {
        "agreement_close": reason,
        "due_pk": charges.due_pk(item["type"], item["id"]),
        "due_at": iso(uow.now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)),
    }
    uow.after_commit(lambda: close(deps, {**item, **fields}, uow.now))
    return fields


def without(remove: list[str], changes: dict) -> list[str]:
    """An update may not set and remove one attribute: keep the timer a staged close just set."""
    return [name for name in remove if name not in changes]


def close(deps: Deps, item: dict, now: datetime) -> dict | None:
    """Close the object's agreement at the provider and record it once. Never raises: a provider that
    cannot answer (ProviderError, or anything unexpected) leaves the timer for the sweep, a bit later."""
    try:
        result = deps.provider(item["provider"]).close_pay_later(
            item["agreement_no"], item.get("agreement_ref"), item["agreement_close"]
        )
    except Exception as exc:  # noqa: BLE001 - never block the member's change; the timer retries
        logger.warning(
            "agreement close failed; the sweep retries it",
            extra={"id": item["id"], "error": str(exc), "provider_error": isinstance(exc, ProviderError)},
        )
        return _close_later(deps, item, now)
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    changes = {"agreement_closed_at": iso(now), "updated_at": iso(now)}
    if not result.ok:  # refused at the provider (e.g. charged there meanwhile): retrying cannot help
        changes = {"agreement_close_error": result.reason or "refused", "updated_at": iso(now)}
        logger.warning("the provider refused to close the agreement", extra={"id": item["id"], "reason": result.reason})
    uow.update(
        item["pk"],
        item["sk"],
        set=changes,
        remove=["due_pk", "due_at"],
        condition="attribute_exists(agreement_close) AND attribute_not_exists(agreement_closed_at) "
        "AND attribute_not_exists(agreement_close_error)",
        on_fail=Retry,
    )
    uow.audit(
        f"{item['type']}#{item['id']}",
        "agreement_closed" if result.ok else "agreement_close_refused",
        data={"reason": item["agreement_close"], "provider_ref": result.provider_ref, "error": result.reason},
    )
    try:
        uow.commit()
    except Retry:
        logger.info("agreement close already recorded", extra={"id": item["id"]})
        return deps.table.get(item["pk"], item["sk"])
    except Exception:  # noqa: BLE001 - the timer is still there: the sweep records it later
        logger.exception("agreement close not recorded; the sweep retries it", extra={"id": item["id"]})
        return None
    fresh = {**item, **changes}
    fresh.pop("due_pk", None)
    fresh.pop("due_at", None)
    return fresh


def _close_later(deps: Deps, item: dict, now: datetime) -> dict | None:
    wake = iso(now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes))
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    uow.update(
        item["pk"],
        item["sk"],
        set={"due_pk": charges.due_pk(item["type"], item["id"]), "due_at": wake},
        condition="attribute_exists(agreement_close) AND attribute_not_exists(agreement_closed_at) "
        "AND attribute_not_exists(agreement_close_error)",
        on_fail=Retry,
    )
    try:
        uow.commit()
    except Exception:  # noqa: BLE001 - recorded meanwhile, or the store is down: the old timer stands
        return None
    return {**item, "due_at": wake}


def _pending_order(deps: Deps, note: Notification) -> dict | None:
    found = numbers.split(note.out_request_no)
    key = charges.KEYS.get(found[0].split("_", 1)[0]) if found and found[1] == PURPOSE else None
    if not found or not key:
        return None
    number = note.out_request_no
    item = deps.table.get(key[0].format(found[0]), key[1])
    if (
        not item
        or item.get("agreement_no") != number
        or item.get("agreement_state") != "pending"
        or item.get("charge_state", "pending") != "pending"
    ):
        return None  # already settled (a repeat, or the sweep got there first): nothing to do
    return item


def on_confirmed(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    item = _pending_order(deps, note)
    if item and item["provider"] == provider:
        stage_confirmed(uow, item, note.provider_ref)


def on_refused(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    item = _pending_order(deps, note)
    if item and item["provider"] == provider:
        stage_refused(uow, item, "pay_later_refused")
