"""Orders: pay later and installments (API.md 'Orders (pay later, installments)')."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from ..domain import orders as rules
from ..services import members, orders, refunds
from .common import Body, Fen, Id, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


class OrderIn(Body):
    kind: Literal["pay_later", "installment"]
    scenario: str = Field(min_length=1, max_length=64)
    amount: Fen
    trial_days: int | None = None
    installments: Literal[3, 6, 12] | None = None
    coupon_id: Id | None = None


class OrderOut(Out):
    id: str
    kind: str
    decision: Literal["approved", "review", "rejected"]
    reason: str | None
    status: str
    amount: int
    discount: int
    payable: int
    charge_at: str | None
    charged: int
    refunded: int


class OrderList(Out):
    items: list[OrderOut]


class EmptyIn(Body):
    pass


class RefundIn(Body):
    amount: Fen | None = None


class QuoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Fen


class PlanOut(Out):
    installments: Literal[3, 6, 12]
    eligible: bool
    first_payment: int
    per_period: int
    fee_payer: Literal["merchant"]


class QuoteOut(Out):
    plans: list[PlanOut]


@route(bp, "/v1/installments/quote", "GET", auth="member", query=QuoteQuery, response=QuoteOut, tag="orders")
def quote(ctx: Ctx, q: QuoteQuery) -> dict:
    """Installment plans for an amount; the member's tier decides 12 periods."""
    tier = members.tier(members.load(ctx.deps.table, ctx.member_id), ctx.now)
    return {"plans": [p.as_dict() for p in rules.quote(q.amount, tier, ctx.deps.settings.policy)]}


@route(bp, "/v1/orders", "POST", auth="member", body=OrderIn, response=OrderOut, status=201, tag="orders")
def create_order(ctx: Ctx, body: OrderIn) -> Staged:
    """A pay-later or installment order, decided by the shared pipeline."""
    uow = ctx.uow()
    return Staged(uow, orders.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body))


@route(bp, "/v1/orders", "GET", auth="member", response=OrderList, tag="orders")
def list_orders(ctx: Ctx, _: None) -> dict:
    """The member's orders, newest first."""
    return {"items": orders.list_own(ctx.deps, ctx.member_id)}


@route(bp, "/v1/orders/{order_id}", "GET", auth="member", response=OrderOut, tag="orders")
def get_order(ctx: Ctx, _: None, order_id: str) -> dict:
    """One of the member's orders."""
    return orders.view(orders.load_own(ctx.deps, ctx.member_id, order_id))


@route(bp, "/v1/orders/{order_id}/cancel", "POST", auth="member", body=EmptyIn, response=OrderOut, tag="orders")
def cancel_order(ctx: Ctx, body: EmptyIn, order_id: str) -> Staged:
    """Cancel before the charge: nothing is charged."""
    uow = ctx.uow()
    return Staged(uow, orders.cancel(ctx.deps, uow, ctx.member_id, order_id))


@route(bp, "/v1/orders/{order_id}/confirm", "POST", auth="member", body=EmptyIn, response=OrderOut, tag="orders")
def confirm_order(ctx: Ctx, body: EmptyIn, order_id: str) -> dict:
    """Charge now instead of at charge_at (the answer carries the charge's outcome)."""
    return orders.confirm(ctx.deps, ctx.member_id, order_id)


@route(bp, "/v1/orders/{order_id}/refund", "POST", auth="member", body=RefundIn, response=OrderOut, tag="orders")
def refund_order(ctx: Ctx, body: RefundIn, order_id: str) -> dict:
    """Refund all or part of a charged order through the provider."""
    return refunds.refund(ctx.deps, ctx.member_id, order_id, body.amount)
