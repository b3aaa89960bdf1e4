"""Pay-later and installment orders: create, view, cancel, confirm, the review resolver and charge hooks.

Charging (services/orders/charges.py): a pay-later order is charged at charge_at by the
`charge_due_orders` sweep and the `order-charges` worker, or at once in the request on
confirm (the same code the worker runs). An installment order is charged in full at creation
(charge_at = now): through the same worker on the sandbox, or, on Alipay, by the user paying the
Huabei installment trade opened at creation (services/orders/installments.py: hb_fq_num,
hb_fq_seller_percent=100, kept on the order as provider_terms) in the mini-program. The merchant
receives the whole amount and pays the fee; the member repays Huabei per period (the plan is kept
for display). WeChat Pay has no installments: refused at creation (400 on `kind`).
"""

from __future__ import annotations

from typing import Any, Callable

from ...clock import iso, parse_iso
from ...domain import orders as rules
from ...domain.charges import ChargeState
from ...domain.charges import transition as charge_transition
from ...domain.decision import Decision, Outcome
from ...domain.errors import InvalidState, NotFound, ValidationFailed
from ...domain.orders import OrderKind, OrderStatus
from ...ports import Deps
from ...store.guards import ABSENT, expect
from ...store.uow import RETRY, UnitOfWork, set_or_remove
from .. import confirm_params, intents
from ..members import members
from ..risk import decisions
from . import billing, charges, closing, installments, pay_later

HELD = str(ChargeState.HELD)  # a group-buy seat's charge while its team is open: never due, never charged

STATUS_OF = {
    Outcome.APPROVED: OrderStatus.PENDING_CHARGE,
    Outcome.REVIEW: OrderStatus.IN_REVIEW,
    Outcome.REJECTED: OrderStatus.REJECTED,
}


def order_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


def load_own(deps: Deps, member_id: str, order_id: str) -> dict:
    """The member's order; another member's (or none) is a 404."""
    item = deps.table.get(*order_key(order_id))
    if not item or item.get("member_id") != member_id:
        raise NotFound("no such order")
    return item


def load_for_member(deps: Deps, member_id: str, order_id: str) -> dict:
    """The member's order, with fresh mini-program params if its agreement still waits on expired ones."""
    item = load_own(deps, member_id, order_id)
    return confirm_params.refreshed(
        deps, item, "paylater", item.get("agreement_no") or "", item.get("agreement_state") == "pending"
    )


def view(item: dict) -> dict:
    keys = (
        "id",
        "kind",
        "decision",
        "reason",
        "status",
        "amount",
        "discount",
        "payable",
        "charge_at",
        "trial_days",
        "installments",
        "plan",
        "scenario",
        "coupon_id",
        "created_at",
        "charged_at",
    )
    out = {k: item.get(k) for k in keys}
    out.update(
        charged=int(item.get("charged", 0)),
        refunded=int(item.get("refunded", 0)),
        charge_attempts=int(item.get("charge_attempts", 0)),
    )
    out.update(itemised(item))
    if item.get("provider_params") and (
        item.get("agreement_state") == "pending" or installments.awaiting_payment(item)
    ):
        out["provider_params"] = item["provider_params"]  # what the mini-program opens to confirm or pay
    return out


def itemised(item: dict) -> dict:
    """What a charged order took as named lines less discounts (API.md): the goods at their price less the
    coupon once the whole payable is charged; before that (an installment plan part-way), the periods taken."""
    charged, amount, payable = int(item.get("charged", 0)), int(item.get("amount", 0)), int(item.get("payable", 0))
    if not charged:
        return {"lines": [], "discounts": []}
    name = str(item.get("kind") or "order")
    if charged == payable and amount > payable:
        return {
            "lines": [{"name": name, "amount": amount}],
            "discounts": [{"name": "coupon", "amount": amount - payable}],
        }
    return {"lines": [{"name": name, "amount": charged}], "discounts": []}


def _terms(body: Any, inputs: decisions.Inputs, payable: int, tier: str, deps: Deps) -> dict:
    """Kind-specific terms: the trial for pay later, the plan for installments (400 when refused)."""
    policy = deps.settings.policy
    if body.kind == OrderKind.PAY_LATER:
        if body.installments is not None:
            raise ValidationFailed("installments are for kind installment", "installments")
        days = rules.trial_days(body.trial_days, int(inputs.scenario.get("trial_days", 14)), policy)
        return {"trial_days": days, "charge_at": rules.charge_at(deps.clock.now(), days)}
    if body.trial_days is not None:
        raise ValidationFailed("trial_days is for kind pay_later", "trial_days")
    if body.installments is None:
        raise ValidationFailed("field required", "installments")
    if not deps.provider(inputs.member["provider"]).offers_installments:
        raise ValidationFailed(
            f"{inputs.member['provider']} offers no interest-free installments; use kind pay_later",
            "kind",
            code="installments_not_offered",
        )
    plan = rules.require_plan(payable, body.installments, tier, policy)
    return {
        "installments": plan.installments,
        "plan": plan.as_dict(),
        "provider_terms": rules.provider_terms(plan),
        "charge_at": deps.clock.now(),
    }


def create(
    deps: Deps,
    uow: UnitOfWork,
    member_id: str,
    device_id: str | None,
    body: Any,
    oid: str,
    inputs: decisions.Inputs | None = None,
    seat: dict | None = None,
    overrule: Callable[[Decision], Decision] | None = None,
) -> dict:
    """Decide and write a new order (one transaction with exposure, stats, metrics, review, coupon).
    `oid`: chosen once per request, so a retried request reaches the same provider order.
    A group-buy seat (services/growth/teams.py) passes the `inputs` it already read, the `seat` fields
    (held: no charge timer while its team is open) and an `overrule` of the decision (its abuse rules)."""
    now = uow.now
    inputs = inputs or decisions.load(deps, member_id, body.scenario, device_id, body.coupon_id)
    members.require_authorized(inputs.member, now)
    discount = decisions.discount(inputs, member_id, body.coupon_id, body.amount, now)
    payable = body.amount - discount
    tier = members.tier(inputs.member, now)
    terms = _terms(body, inputs, payable, tier, deps)
    decision = decisions.run(deps, inputs, "order", payable, now)
    if overrule:
        decision = overrule(decision)
    status = STATUS_OF[decision.outcome]
    item = {
        "pk": order_key(oid)[0],
        "sk": "ORDER",
        "type": "order",
        "id": oid,
        "member_id": member_id,
        "provider": inputs.member["provider"],
        "member_ref": inputs.member["provider_user_id"],
        "kind": str(body.kind),
        "scenario": body.scenario,
        "amount": body.amount,
        "discount": discount,
        "payable": payable,
        "coupon_id": body.coupon_id,
        "decision": str(decision.outcome),
        "reason": decision.reason,
        "status": str(status),
        "band": members.band(inputs.member, now),
        "created_at": iso(now),
        "list_pk": f"member#{member_id}#order",
        "list_sk": f"{iso(now)}#{oid}",
        **{**terms, "charge_at": iso(terms["charge_at"])},
        "charged": 0,
        "refunded": 0,
        "refund_count": 0,
    }
    if status == OrderStatus.PENDING_CHARGE:
        if body.kind == OrderKind.INSTALLMENT:
            intents.record(deps, uow, order_key(oid), charges.request_no(item, 1), item["provider"], now)
            fields, charge_now = installments.open_trade(deps, item, now)
            item.update(fields)
            if charge_now:
                uow.send("order-charges", {"pk": item["pk"], "sk": item["sk"]})
        else:
            item.update(charges.pending_fields("order", oid, payable, terms["charge_at"]))
            intents.record(deps, uow, order_key(oid), pay_later.agreement_no(oid), item["provider"], now)
            item.update(pay_later.open_agreement(deps, item, now))
    if seat is not None:
        item.update(seat)
        if status == OrderStatus.PENDING_CHARGE:  # held: nothing is charged while the team is open
            item.update(charge_state=HELD)
            item.pop("due_pk", None)
            item.pop("due_at", None)
    uow.put(item, condition="attribute_not_exists(pk)")
    decisions.stage(uow, deps, inputs, decision, "order", oid, payable, coupon_id=body.coupon_id)
    uow.audit(
        f"order#{oid}",
        "created",
        after={"status": item["status"], "payable": payable, "kind": item["kind"]},
        event="order.created",
    )
    return view(item)


def cancel(deps: Deps, uow: UnitOfWork, member_id: str, order_id: str) -> dict:
    """Before the charge: cancelled, nothing ever charged, exposure back, coupon returned."""
    item = load_own(deps, member_id, order_id)
    rules.transition(item["status"], OrderStatus.CANCELLED)
    _refuse_open_seat(item)
    if item.get("charge_state") == ChargeState.CHARGING:
        raise InvalidState("a charge is in progress; it can no longer be cancelled")
    if item.get("charge_state"):
        charge_transition(item["charge_state"], ChargeState.CANCELLED)
    fields = {
        "status": str(OrderStatus.CANCELLED),
        "charge_state": "cancelled",
        "cancelled_at": iso(uow.now),
        **pay_later.stage_close(deps, uow, item, "cancelled"),
    }
    uow.update(
        item["pk"],
        item["sk"],
        set=fields,
        remove=pay_later.without(["due_pk", "due_at"], fields),
        **expect({"status": item["status"], "charge_state": (ABSENT, ChargeState.PENDING)}, on_fail=RETRY),
    )
    closing.stage_released(uow, item, int(item["payable"]))
    uow.audit(
        f"order#{order_id}",
        "cancelled",
        before={"status": item["status"]},
        after={"status": "cancelled"},
        event="order.cancelled",
    )
    return view({**item, "status": str(OrderStatus.CANCELLED)})


def confirm(deps: Deps, uow: UnitOfWork, member_id: str, order_id: str) -> dict:
    """Charge now (in the request, with the worker's code); a failure follows the retry schedule. The charge's
    record is staged into the route's `uow` (billing.charge_now), so the Idempotency-Key rides with it."""
    item = load_own(deps, member_id, order_id)
    if item["status"] != OrderStatus.PENDING_CHARGE:
        raise InvalidState(f"an order that is {item['status']} cannot be confirmed")
    _refuse_open_seat(item)
    return view(billing.charge_now(deps, uow, item))


def _refuse_open_seat(item: dict) -> None:
    """A seat in a group-buy team that is still open is settled by its team (full or failed)."""
    if item.get("charge_state") == HELD or item.get("team_state") == "open":
        raise InvalidState("this order is a seat in an open group-buy team; it proceeds or is cancelled with the team")


# -- review resolver ------------------------------------------------------------------------------


def resolve(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """Approved: continue as if freshly decided (without the risk rules); rejected: closed, credit back."""
    item = deps.table.get(*order_key(review["ref_id"]))
    if not item or item["status"] != OrderStatus.IN_REVIEW:
        return
    if approved:
        inputs = decisions.load(deps, item["member_id"], item.get("scenario"))
        decision = decisions.run(
            deps, inputs, "order", int(item["payable"]), uow.now, exposure_amount=0, skip_rules=True
        )
        approved = decision.outcome != Outcome.REJECTED
    guard = expect({"status": item["status"]}, on_fail=RETRY)
    if approved:
        at = max(parse_iso(item["charge_at"]), uow.now)
        fields = {**charges.pending_fields("order", item["id"], int(item["payable"]), at), "charge_at": iso(at)}
        charge_now = False
        if item["kind"] == OrderKind.PAY_LATER:
            fields.update(pay_later.open_agreement(deps, {**item, **fields}, uow.now))
        else:
            opened, charge_now = installments.open_trade(deps, item, uow.now)
            fields.update(opened, charge_at=iso(uow.now))
        fields = {**fields, "status": str(OrderStatus.PENDING_CHARGE)}
        if item.get("team_state") == "open":  # a seat: held until its team fills (no timer, never charged)
            fields.update(charge_state=HELD, due_pk=None, due_at=None)
        uow.update(item["pk"], item["sk"], **set_or_remove(fields), **guard)
        if charge_now:
            uow.send("order-charges", {"pk": item["pk"], "sk": item["sk"]})
    else:
        fields = {"status": str(OrderStatus.REJECTED), **pay_later.stage_close(deps, uow, item, "rejected")}
        uow.update(item["pk"], item["sk"], **set_or_remove(fields), **guard)
        closing.stage_released(uow, item, int(item["payable"]))
    after = OrderStatus.PENDING_CHARGE if approved else OrderStatus.REJECTED
    uow.audit(
        f"order#{item['id']}",
        "reviewed",
        before={"status": item["status"]},
        after={"status": str(after)},
        event="order.reviewed",
    )


def list_own(deps: Deps, member_id: str, limit: int = 50) -> list[dict]:
    """The member's orders, newest first (one Query on the list index)."""
    items = deps.table.query(
        "list_pk = :p", {":p": f"member#{member_id}#order"}, index="list", forward=False, limit=limit
    )
    return [view(i) for i in items]
