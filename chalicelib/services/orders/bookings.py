"""Service bookings guaranteed by credit: create, cancel (with its fee), complete, disputes.

Money: the price counts in exposure from the booking on. A satisfied completion is charged by
the charge engine (services/orders/charges.py): the request runs the worker's code at once and the
sweep retries it on failure. A late cancellation's fee is charged the same way (the booking stays
`cancelled`; `fee_charged` tells when it is paid). A dispute opens a review of kind "dispute":
approve = the member is right (waived, nothing owed); reject = the price is charged.

With a real provider the guarantee is the provider's pay-later agreement (services/orders/pay_later.py),
opened for the price when the booking is confirmed (`provider_params` in the answer: what the
mini-program opens to confirm it). Every charge of the booking goes under it. Not confirmed by the
start, the booking is cancelled (no fee: nothing could be charged); cancelled by the member before
confirming it, no fee either.
"""

from __future__ import annotations

from typing import Any

from ...clock import iso, parse_iso
from ...domain import bookings as rules
from ...domain.agreements import AgreementState
from ...domain.agreements import transition as agreement_transition
from ...domain.bookings import BookingStatus
from ...domain.decision import Outcome
from ...domain.errors import InvalidState, NotFound
from ...log import logger
from ...ports import Deps
from ...store.guards import expect
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from .. import intents
from ..members import members
from ..risk import decisions, reviews
from . import billing, charges, closing, pay_later

STATUS_OF = {
    Outcome.APPROVED: BookingStatus.CONFIRMED,
    Outcome.REVIEW: BookingStatus.IN_REVIEW,
    Outcome.REJECTED: BookingStatus.REJECTED,
}


def booking_key(booking_id: str) -> tuple[str, str]:
    return f"BOOKING#{booking_id}", "BOOKING"


def load_own(deps: Deps, member_id: str, booking_id: str) -> dict:
    item = deps.table.get(*booking_key(booking_id))
    if not item or item.get("member_id") != member_id:
        raise NotFound("no such booking")
    return item


def view(item: dict) -> dict:
    keys = (
        "id",
        "service_id",
        "starts_at",
        "price",
        "decision",
        "reason",
        "status",
        "cancellation_fee",
        "created_at",
        "comment",
    )
    out = {k: item.get(k) for k in keys}
    out.update(charged=int(item.get("charged", 0)), fee_charged=bool(item.get("fee_charged", False)))
    charged = out["charged"]  # itemised (API.md): a late cancellation's fee, or the service itself
    out.update(
        lines=[{"name": "cancellation_fee" if out["fee_charged"] else "service", "amount": charged}] if charged else [],
        discounts=[],
    )
    if item.get("provider_params") and item.get("agreement_state") == "pending":
        out["provider_params"] = item["provider_params"]  # what the mini-program opens to confirm
    return out


def _guard(item: dict, **also_expected: str) -> dict:
    return expect({"status": item["status"], **also_expected}, on_fail=RETRY)


def create(deps: Deps, uow: UnitOfWork, member_id: str, device_id: str | None, body: Any, bid: str) -> dict:
    """Decide and write a new booking; the price counts in exposure."""
    now = uow.now
    starts_at = body.starts_at
    rules.require_future_start(starts_at, now)
    inputs = decisions.load(deps, member_id, None, device_id)
    members.require_authorized(inputs.member, now)
    decision = decisions.run(deps, inputs, "booking", body.price, now)
    item = {
        "pk": booking_key(bid)[0],
        "sk": "BOOKING",
        "type": "booking",
        "id": bid,
        "member_id": member_id,
        "provider": inputs.member["provider"],
        "member_ref": inputs.member["provider_user_id"],
        "service_id": body.service_id,
        "starts_at": iso(starts_at),
        "price": body.price,
        "decision": str(decision.outcome),
        "reason": decision.reason,
        "status": str(STATUS_OF[decision.outcome]),
        "band": members.band(inputs.member, now),
        "created_at": iso(now),
        "charged": 0,
    }
    if item["status"] == BookingStatus.CONFIRMED:
        intents.record(deps, uow, booking_key(bid), pay_later.agreement_no(bid), item["provider"], now)
        item.update(pay_later.open_agreement(deps, item, now))
    uow.put(item, condition="attribute_not_exists(pk)")
    decisions.stage(uow, deps, inputs, decision, "booking", bid, body.price)
    uow.audit(
        f"booking#{bid}", "created", after={"status": item["status"], "price": body.price}, event="booking.created"
    )
    return view(item)


def cancel(deps: Deps, uow: UnitOfWork, member_id: str, booking_id: str) -> dict:
    """Cancel before the start: free for silver/gold, else free until 24 h before, then the fee."""
    item = load_own(deps, member_id, booking_id)
    rules.transition(item["status"], BookingStatus.CANCELLED)
    tier = members.tier(members.load(deps.table, member_id), uow.now)
    fee = rules.cancellation_fee(tier, int(item["price"]), parse_iso(item["starts_at"]), uow.now, deps.settings.policy)
    guard, remove = _guard(item), []
    fields: dict = {"status": str(BookingStatus.CANCELLED), "cancelled_at": iso(uow.now)}
    if item.get("agreement_state") == AgreementState.PENDING:  # never guaranteed: nothing to charge under
        fee, remove = 0, ["due_pk", "due_at"]
        fields["agreement_state"] = str(agreement_transition(item["agreement_state"], AgreementState.ABANDONED))
        guard = _guard(item, agreement_state=AgreementState.PENDING)
    fields["cancellation_fee"] = fee
    if fee:
        fields.update(charges.pending_fields("booking", booking_id, fee, uow.now))
        uow.send("order-charges", {"pk": item["pk"], "sk": item["sk"]})
    else:  # nothing will be charged under the agreement: close it at the provider
        fields.update(pay_later.stage_close(deps, uow, item, "cancelled"))
    uow.update(item["pk"], item["sk"], set=fields, remove=pay_later.without(remove, fields), **guard)
    closing.stage_released(uow, item, int(item["price"]))
    uow.audit(
        f"booking#{booking_id}",
        "cancelled",
        before={"status": item["status"]},
        after={"status": "cancelled", "cancellation_fee": fee},
        event="booking.cancelled",
    )
    return view({**item, **fields})


def complete(
    deps: Deps, uow: UnitOfWork, member_id: str, booking_id: str, satisfied: bool, comment: str | None
) -> dict:
    """After the start: satisfied -> charged (the worker's code runs now); not -> disputed.

    Not satisfied: one state change, staged into the route's `uow`. Satisfied: the completion is an intent
    (pending_charge, with its charge timer) committed before the provider call, and the charge's record is
    staged into the route's `uow` (billing.charge_now), so the Idempotency-Key rides with the money. A
    retry of the same request finds the booking pending its charge and charges it (same request number)."""
    item = load_own(deps, member_id, booking_id)
    now = uow.now
    if now < parse_iso(item["starts_at"]):
        raise InvalidState("the service has not started yet")
    if item.get("agreement_state") == "pending" and item["status"] == BookingStatus.CONFIRMED:
        item = pay_later.reconcile(deps, item, now, force=True) or item  # confirmed now, or cancelled
        if item["status"] != BookingStatus.CONFIRMED:
            raise InvalidState("the booking was cancelled: its guarantee was never confirmed with the provider")
    if satisfied and item["status"] == BookingStatus.PENDING_CHARGE and item.get("completed_at"):
        return view(_charge_now(deps, uow, item))  # completed by an earlier try of this request
    target = BookingStatus.PENDING_CHARGE if satisfied else BookingStatus.DISPUTED
    rules.transition(item["status"], target)
    fields: dict = {"status": str(target), "completed_at": iso(now), "comment": comment}
    step = UnitOfWork(deps.table, now, uow.actor, deps.queues.send) if satisfied else uow
    if satisfied:
        fields.update(charges.pending_fields("booking", booking_id, int(item["price"]), now))
    else:
        reviews.stage_open(
            uow,
            "dispute",
            f"dispute_{booking_id}",
            member_id,
            "not_satisfied",
            evidence={"booking_id": booking_id, "comment": comment or "", "price": item["price"]},
        )
    step.update(item["pk"], item["sk"], **set_or_remove(fields), **_guard(item))
    step.audit(
        f"booking#{booking_id}",
        "completed",
        before={"status": item["status"]},
        after={"status": str(target), "satisfied": satisfied},
        event="booking.completed",
    )
    done = {k: v for k, v in {**item, **fields}.items() if v is not None}
    if not satisfied:
        return view(done)
    step.commit()
    return view(_charge_now(deps, uow, done))


def _charge_now(deps: Deps, uow: UnitOfWork, item: dict) -> dict:
    staged = len(uow)
    try:
        return billing.charge_now(deps, uow, item)
    except Retry:
        raise  # a race: the route decides again on a fresh read (and resumes this charge)
    except Exception:  # the due index keeps it: the sweep charges it on its next run
        if len(uow) != staged:
            raise  # never commit half a record
        logger.exception("inline booking charge failed; left to the sweep", extra={"booking": item["id"]})
        return item


# -- review resolvers -----------------------------------------------------------------------------


def resolve(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """A risk review: approved -> confirmed (if still within the limit and not blacklisted); else rejected."""
    item = deps.table.get(*booking_key(review["ref_id"]))
    if not item or item["status"] != BookingStatus.IN_REVIEW:
        return
    if approved:
        inputs = decisions.load(deps, item["member_id"])
        decision = decisions.run(
            deps, inputs, "booking", int(item["price"]), uow.now, exposure_amount=0, skip_rules=True
        )
        approved = decision.outcome != Outcome.REJECTED
    target = BookingStatus.CONFIRMED if approved else BookingStatus.REJECTED
    fields: dict = {"status": str(target)}
    if approved:
        fields.update(pay_later.open_agreement(deps, {**item, **fields}, uow.now))
    else:
        fields.update(pay_later.stage_close(deps, uow, item, "rejected"))
    uow.update(item["pk"], item["sk"], **set_or_remove(fields), **_guard(item))
    if not approved:
        closing.stage_released(uow, item, int(item["price"]))
    uow.audit(
        f"booking#{item['id']}",
        "reviewed",
        before={"status": item["status"]},
        after={"status": str(target)},
        event="booking.reviewed",
    )


def resolve_dispute(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """approve = the member's complaint stands (waived, credit back); reject = the price is charged."""
    item = deps.table.get(*booking_key(review["evidence"]["booking_id"]))
    if not item or item["status"] != BookingStatus.DISPUTED:
        return
    target = BookingStatus.WAIVED if approved else BookingStatus.PENDING_CHARGE
    fields: dict = {"status": str(target)}
    if approved:
        closing.stage_released(uow, item, int(item["price"]))
        fields.update(pay_later.stage_close(deps, uow, item, "waived"))
    else:
        fields.update(charges.pending_fields("booking", item["id"], int(item["price"]), uow.now))
        uow.send("order-charges", {"pk": item["pk"], "sk": item["sk"]})
    uow.update(item["pk"], item["sk"], **set_or_remove(fields), **_guard(item))
    uow.audit(
        f"booking#{item['id']}",
        "dispute_resolved",
        before={"status": "disputed"},
        after={"status": str(target)},
        event="booking.dispute_resolved",
    )
