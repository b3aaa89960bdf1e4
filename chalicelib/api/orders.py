"""Orders: pay later and installments (API.md 'Orders (pay later, installments)')."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

rules = Lazy("chalicelib.domain.orders")
members = Lazy("chalicelib.services.members.members")
orders = Lazy("chalicelib.services.orders.orders")
refunds = Lazy("chalicelib.services.orders.refunds")
teams = Lazy("chalicelib.services.growth.teams")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/installments/quote",
    "GET",
    auth="member",
    query="orders:QuoteQuery",
    response="orders:QuoteOut",
    tag="orders",
)
def quote(ctx: Ctx, q: Any) -> dict:
    """Installment plans for an amount; the member's tier decides 12 periods, the provider whether any."""
    member = members.load(ctx.deps.table, ctx.member_id)
    offered = ctx.deps.provider(member["provider"]).offers_installments
    tier = members.tier(member, ctx.now)
    return {"plans": [p.as_dict() for p in rules.quote(q.amount, tier, ctx.deps.settings.policy, offered)]}


@route(
    bp, "/v1/orders", "POST", auth="member", body="orders:OrderIn", response="orders:OrderOut", status=201, tag="orders"
)
def create_order(ctx: Ctx, body: Any) -> Staged:
    """A pay-later or installment order, decided by the shared pipeline."""
    uow = ctx.uow()
    return Staged(uow, orders.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body, ctx.object_id("ord")))


@route(bp, "/v1/orders", "GET", auth="member", response="orders:OrderList", tag="orders")
def list_orders(ctx: Ctx, _: None) -> dict:
    """The member's orders, newest first."""
    return {"items": orders.list_own(ctx.deps, ctx.member_id)}


@route(bp, "/v1/orders/{order_id}", "GET", auth="member", response="orders:OrderOut", tag="orders")
def get_order(ctx: Ctx, _: None, order_id: str) -> dict:
    """One of the member's orders."""
    return orders.view(orders.load_for_member(ctx.deps, ctx.member_id, order_id))


@route(
    bp,
    "/v1/orders/{order_id}/cancel",
    "POST",
    auth="member",
    body="orders:EmptyIn",
    response="orders:OrderOut",
    tag="orders",
)
def cancel_order(ctx: Ctx, body: Any, order_id: str) -> Staged:
    """Cancel before the charge: nothing is charged."""
    uow = ctx.uow()  # a group-buy seat in an open team leaves it (services/growth/teams.py)
    return Staged(uow, teams.cancel_order(ctx.deps, uow, ctx.member_id, order_id))


@route(
    bp,
    "/v1/orders/{order_id}/confirm",
    "POST",
    auth="member",
    body="orders:EmptyIn",
    response="orders:OrderOut",
    tag="orders",
)
def confirm_order(ctx: Ctx, body: Any, order_id: str) -> Staged:
    """Charge now instead of at charge_at (the answer carries the charge's outcome)."""
    uow = ctx.uow()
    return Staged(uow, orders.confirm(ctx.deps, uow, ctx.member_id, order_id))


@route(
    bp,
    "/v1/orders/{order_id}/refund",
    "POST",
    auth="member",
    body="orders:RefundIn",
    response="orders:OrderOut",
    tag="orders",
)
def refund_order(ctx: Ctx, body: Any, order_id: str) -> Staged:
    """Refund all or part of a charged order through the provider."""
    uow = ctx.uow()
    key = ctx.request.headers.get("idempotency-key")
    return Staged(uow, refunds.refund(ctx.deps, uow, ctx.member_id, order_id, body.amount, key))
