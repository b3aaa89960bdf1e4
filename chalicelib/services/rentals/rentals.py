"""Rental use cases: apply (decide, stage, ask the provider for the security), return, operator deductions,
and the review resolver. Each state change is one transaction guarded on the status that was read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.decision import Outcome
from ...domain.errors import InvalidState, ProviderError, ValidationFailed
from ...log import logger
from ...ports import Deps
from ...providers.base import OpResult
from ...store.dynamo import ConditionFailed
from ...store.guards import expect
from ...store.uow import RETRY, UnitOfWork, set_or_remove
from .. import confirm_params, intents
from ..marketing import coupons
from ..members import members
from ..ops import ledger
from ..risk import decisions
from . import store

S = rules.RentalStatus
STATUS_OF = {
    Outcome.DEPOSIT_FREE: S.PENDING_FREEZE,
    Outcome.DEPOSIT_REQUIRED: S.AWAITING_DEPOSIT,
    Outcome.REVIEW: S.REVIEW,
    Outcome.REJECTED: S.REJECTED,
}


def apply(deps: Deps, uow: UnitOfWork, member_id: str, device_id: str | None, body: Any, rid: str) -> dict:
    """POST /v1/rentals: one read, one decision, one transaction, then the provider is asked to secure it.
    `rid`: chosen once per request (a retry reaches the same provider order)."""
    now = uow.now
    inputs = decisions.load(deps, member_id, body.scenario, device_id, body.coupon_id)
    members.require_authorized(inputs.member, now)
    gross = body.daily_rent * body.days
    discount = decisions.discount(inputs, member_id, body.coupon_id, gross, now)
    decision = decisions.run(deps, inputs, "rental", body.item_value, now)
    decisions.stage(uow, deps, inputs, decision, "rental", rid, body.item_value, coupon_id=body.coupon_id)
    item = _new_item(rid, inputs.member, body, decision, discount, now, members.band(inputs.member, now))
    status = STATUS_OF[decision.outcome]
    item.update(_security(status, body.item_value))
    item.update(store.timer(rid, store.wake_for(item, status, now, deps.settings.policy)))
    uow.audit(
        f"rental#{rid}",
        "created",
        after={"status": str(status), "decision": str(decision.outcome), "reason": decision.reason},
        event="rental.created",
    )
    if deps.provider(item["provider"]).confirms_in_app and status in (S.PENDING_FREEZE, S.AWAITING_DEPOSIT):
        purpose = "freeze" if status == S.PENDING_FREEZE else "deposit"
        intents.record(deps, uow, store.rental_key(rid), numbers.number(rid, purpose), item["provider"], now)
        result = request_security(deps, item, now)  # its params (the order string) go in this answer
        if result is not None and result.provider_params:
            item.update(provider_params=result.provider_params, **confirm_params.stamp(now))
    else:
        uow.after_commit(lambda: request_security(deps, item, now))
    uow.put(item, condition="attribute_not_exists(pk)")
    return store.view(item)


def _new_item(rid: str, member: dict, body: Any, decision: Any, discount: int, now: datetime, band: str | None) -> dict:
    at = iso(now)
    return {
        "pk": f"RENTAL#{rid}",
        "sk": "RENTAL",
        "type": "rental",
        "id": rid,
        "member_id": member["member_id"],
        "provider": member["provider"],
        "member_ref": member["provider_user_id"],
        "band": band,
        "scenario": body.scenario,
        "item_id": body.item_id,
        "item_value": body.item_value,
        "daily_rent": body.daily_rent,
        "days": body.days,
        "coupon_id": body.coupon_id,
        "discount": discount,
        "rent": rules.rent(body.daily_rent, body.days, discount),
        "decision": str(decision.outcome),
        "reason": decision.reason,
        "created_at": at,
        "updated_at": at,
        "return_by": iso(rules.due_at(now, body.days)),
        "deducted_amount": 0,
        "deduction_count": 0,
        "list_pk": f"member#{member['member_id']}#rental",
        "list_sk": f"{at}#{rid}",
    }


def _security(status: S, item_value: int) -> dict:
    """Frozen amount, deposit and exposure for a rental entering `status` from a decision."""
    return {
        "status": str(status),
        "frozen_amount": item_value if status == S.PENDING_FREEZE else 0,
        "deposit_amount": item_value if status == S.AWAITING_DEPOSIT else 0,
        "exposure_amount": item_value if status in (S.PENDING_FREEZE, S.REVIEW) else 0,
    }


def request_security(deps: Deps, item: dict, now: datetime) -> OpResult | None:
    """Ask the provider to freeze (or collect the deposit). Asynchronous: the answer comes by notification;
    a lost request is re-sent by the reconciliation timer, so a failure here is only logged."""
    provider = deps.provider(item["provider"])
    try:
        if item["status"] == S.PENDING_FREEZE:
            expires = now + timedelta(days=deps.settings.policy.freeze_lapse_days)
            return provider.freeze(
                item["id"],
                numbers.number(item["id"], "freeze"),
                item["member_ref"],
                item["frozen_amount"],
                f"rental {item['item_id']}",
                expires,
            )
        if item["status"] == S.AWAITING_DEPOSIT:
            return provider.collect_deposit(
                item["id"], item["member_ref"], item["deposit_amount"], f"deposit {item['item_id']}"
            )
    except Exception:  # noqa: BLE001 - reconciliation re-sends it
        logger.exception("security request failed; reconciliation will retry", extra={"rental_id": item["id"]})
    return None


def load_for_member(deps: Deps, member_id: str, rental_id: str) -> dict:
    """The member's rental, with fresh mini-program params if the freeze still waits on expired ones."""
    item = store.load(deps.table, rental_id, member_id)
    return confirm_params.refreshed(
        deps, item, "freeze", numbers.number(rental_id, "freeze"), item["status"] == S.PENDING_FREEZE
    )


def request_and_keep_params(deps: Deps, item: dict, now: datetime) -> None:
    """request_security after our write (review approved, a re-send): keep the params it gives on the rental
    while it still waits for them, so GET /v1/rentals/{id} hands them to the mini-program."""
    result = request_security(deps, item, now)
    if result is None or not result.provider_params:
        return
    try:
        deps.table.update(
            *store.rental_key(item["id"]),
            set={"provider_params": result.provider_params, "provider_params_at": iso(now)},
            **expect({"status": item["status"]}),
        )
    except ConditionFailed:
        pass  # already past waiting: the params are of no use any more


def return_item(deps: Deps, uow: UnitOfWork, member_id: str, rental_id: str) -> dict:
    """POST /v1/rentals/{id}/return: active -> returned (the settlement worker takes it from there), or
    active -> inspecting when the scenario holds the freeze for inspection (the timer settles it after)."""
    item = store.load(deps.table, rental_id, member_id)
    rules.transition(item["status"], S.RETURNED)
    if item.get("settle_started_at"):
        raise InvalidState("the rental is being settled as overdue")
    at, policy = iso(uow.now), deps.settings.policy
    expires = item.get("freeze_expires_at")
    until = rules.inspection_until(
        uow.now,
        timedelta(hours=policy.inspection_hours.get(item["scenario"], 0)),
        parse_iso(expires) if expires else None,
        store.INSPECTION_MARGIN,
    )
    target = S.INSPECTING if until else S.RETURNED
    wake = until or store.wake_for(item, S.RETURNED, uow.now, policy)
    changes = {"returned_at": at, **({"inspection_until": iso(until)} if until else {}), **store.timer(rental_id, wake)}
    store.stage_move(
        uow,
        item,
        target,
        InvalidState("the rental is no longer active"),
        set=changes,
        extra_condition="attribute_not_exists(settle_started_at)",
    )
    if until:
        store.stage_inspection_marker(uow, item, iso(until))
    else:
        uow.send("rental-settlements", {"rental_id": rental_id})
    return store.view({**item, **changes, "status": str(target)})


def deduct(deps: Deps, uow: UnitOfWork, rental_id: str, amount: int, reason: str) -> dict:
    """An operator's partial deduction from a live freeze (or deposit), never beyond what is still held."""
    item = store.load(deps.table, rental_id)
    if item["status"] != S.ACTIVE or item.get("settle_started_at"):
        raise InvalidState(f"deductions are only taken from an active rental (this one is {item['status']})")
    deducted = int(item.get("deducted_amount", 0))
    if not rules.deduction_allowed(store.held(item), deducted, amount):
        raise ValidationFailed(f"at most {store.held(item) - deducted} fen is still held", "amount")
    n = int(item.get("deduction_count", 0)) + 1
    request_no = numbers.number(rental_id, "ded", n)
    uow.update(
        *store.rental_key(rental_id),
        add={"deducted_amount": amount, "deduction_count": 1},
        set={"updated_at": iso(uow.now)},
        **expect(
            {"status": S.ACTIVE, "deduction_count": n - 1},
            also="attribute_not_exists(settle_started_at)",
            on_fail=RETRY,
        ),
    )
    store.stage_money_fact(uow, rental_id, "deduction", amount, reason, request_no)
    if item.get("freeze_ref") and deps.provider(item["provider"]).captures_live:  # taken now; else a line of the
        ledger.stage_movement(uow, item["provider"], request_no, "capture", amount)  # settlement (a deposit: held)
    uow.audit(
        f"rental#{rental_id}",
        "deducted",
        after={"amount": amount, "reason": reason, "out_request_no": request_no},
        event="rental.deducted",
    )
    if deps.provider(item["provider"]).captures_live:  # else taken as a line of the settlement
        uow.after_commit(lambda: capture_deduction(deps, item, request_no, amount, reason))
    return {
        **store.view({**item, "deducted_amount": deducted + amount}),
        "deduction": {"amount": amount, "reason": reason, "out_request_no": request_no, "at": iso(uow.now)},
    }


def capture_deduction(deps: Deps, item: dict, request_no: str, amount: int, reason: str) -> None:
    """Take a recorded deduction from the freeze. Recorded first, so it never races a return; a failure
    here is only logged: the settlement re-drives every recorded deduction (same request number)."""
    if not item.get("freeze_ref"):
        return  # deposit-required: the deposit is already with the merchant
    try:
        result = deps.provider(item["provider"]).capture_from_freeze(
            request_no, item["freeze_ref"], item["member_ref"], amount, reason
        )
        if not result.ok:
            raise ProviderError(f"the provider refused the deduction: {result.reason}")
    except Exception:  # noqa: BLE001 - re-driven at settlement
        logger.exception("deduction capture failed; the settlement will retry it", extra={"rental_id": item["id"]})


def resolve_review(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """Approved: decided afresh without the risk rules; rejected: exposure and coupon given back."""
    item = store.load(deps.table, review["ref_id"])
    outcome = Outcome.REJECTED
    reason = "review_rejected"
    if approved:
        inputs = decisions.load(deps, item["member_id"], item["scenario"])
        decision = decisions.run(
            deps, inputs, "rental", item["item_value"], uow.now, exposure_amount=0, skip_rules=True
        )
        outcome, reason = decision.outcome, decision.reason
    target = STATUS_OF[outcome]
    changes = {**_security(target, item["item_value"]), "decision": str(outcome), "reason": reason}
    changes.pop("status")
    changes.update(store.timer(item["id"], store.wake_for(item, target, uow.now, deps.settings.policy)))
    store.stage_move(uow, item, target, InvalidState("the rental is no longer in review"), **set_or_remove(changes))
    if changes["exposure_amount"] == 0:
        members.stage_release_exposure(uow, item["member_id"], store.exposure_of(item))
    if target == S.REJECTED and item.get("coupon_id"):
        coupons.stage_return(uow, item["coupon_id"], item["id"])
    moved = {**item, **changes, "status": str(target)}
    uow.after_commit(lambda: request_and_keep_params(deps, moved, uow.now))
