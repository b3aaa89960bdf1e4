"""Rentals (API.md "Rentals") and the operators' rental routes (API.md "Admin")."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..domain.errors import NotFound
from ..lazy import Lazy
from .routing import Ctx, Staged, route

rental_store = Lazy("chalicelib.services.rentals.store")
rentals = Lazy("chalicelib.services.rentals.rentals")
life = Lazy("chalicelib.services.rentals.life")
damages = Lazy("chalicelib.services.rentals.damages")
disputes = Lazy("chalicelib.services.rentals.disputes")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/rentals",
    "POST",
    auth="member",
    body="rentals:RentalIn",
    response="rentals:RentalOut",
    status=201,
    tag="rentals",
)
def create_rental(ctx: Ctx, body: Any) -> Staged:
    """Apply for a rental: decided at once; deposit-free ones are frozen by the provider."""
    uow = ctx.uow()
    return Staged(uow, rentals.apply(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body, ctx.object_id("rt")))


@route(bp, "/v1/rentals", "GET", auth="member", response="rentals:RentalListOut", tag="rentals")
def list_rentals(ctx: Ctx, _: None) -> dict:
    """The member's rentals, newest first."""
    return {"items": rental_store.list_for(ctx.deps.table, ctx.member_id)}


@route(bp, "/v1/rentals/{rental_id}", "GET", auth="member", response="rentals:RentalOut", tag="rentals")
def get_rental(ctx: Ctx, _: None, rental_id: str) -> dict:
    """One of the member's rentals (another member's is a 404)."""
    return rental_store.view(rentals.load_for_member(ctx.deps, ctx.member_id, rental_id))


@route(
    bp,
    "/v1/rentals/{rental_id}/return",
    "POST",
    auth="member",
    body="rentals:ReturnIn",
    response="rentals:RentalOut",
    tag="rentals",
)
def return_rental(ctx: Ctx, _: Any, rental_id: str) -> Staged:
    """The item is back: the rent is taken from the freeze and the rest released (by a worker)."""
    uow = ctx.uow()
    return Staged(uow, rentals.return_item(ctx.deps, uow, ctx.member_id, rental_id))


@route(
    bp,
    "/v1/rentals/{rental_id}/renew",
    "POST",
    auth="member",
    body="rentals:RenewIn",
    response="rentals:RentalOut",
    tag="rentals",
)
def renew_rental(ctx: Ctx, body: Any, rental_id: str) -> Staged:
    """Extend an active rental by 1-30 days before its due date; the rent must still fit in the freeze."""
    uow = ctx.uow()
    return Staged(uow, life.renew(ctx.deps, uow, ctx.member_id, rental_id, body.days))


@route(
    bp,
    "/v1/rentals/{rental_id}/buyout",
    "POST",
    auth="member",
    body="rentals:BuyoutIn",
    response="rentals:BuyoutOut",
    tag="rentals",
)
def buyout_rental(ctx: Ctx, _: Any, rental_id: str) -> Staged:
    """Buy the item for item_value - rent accrued, taken from the freeze (closing until the provider answers)."""
    uow = ctx.uow()
    return Staged(uow, life.buyout(ctx.deps, uow, ctx.member_id, rental_id))


@route(
    bp,
    "/v1/rentals/{rental_id}/disputes",
    "POST",
    auth="member",
    body="rentals:DisputeIn",
    response="rentals:DisputeOut",
    status=201,
    tag="rentals",
)
def dispute_rental(ctx: Ctx, body: Any, rental_id: str) -> Staged:
    """Dispute what a closed rental took, within 7 days of close, once; an operator answers within 7 days."""
    uow = ctx.uow()
    return Staged(uow, disputes.open_dispute(ctx.deps, uow, ctx.member_id, rental_id, body.reason))


@route(bp, "/v1/admin/rentals/attention", "GET", auth="admin", response="rentals:AttentionOut", tag="admin")
def admin_rentals_attention(ctx: Ctx, _: None) -> dict:
    """Rentals in inspection and open rental disputes (an unanswered one past respond_by flagged overdue)."""
    return disputes.attention(ctx.deps.table, ctx.now)


@route(bp, "/v1/admin/rentals/{rental_id}", "GET", auth="admin", response="rentals:AdminRentalOut", tag="admin")
def admin_get_rental(ctx: Ctx, _: None, rental_id: str) -> dict:
    """A rental with its full money history (append-only facts: rent, deductions, release)."""
    item, money = rental_store.money_history(ctx.deps.table, rental_id)
    if item is None:
        raise NotFound("rental not found")
    return {**rental_store.view(item), "member_id": item["member_id"], "money": money}


@route(
    bp,
    "/v1/admin/rentals/{rental_id}/deductions",
    "POST",
    auth="admin",
    body="rentals:DeductionIn",
    response="rentals:RentalOut",
    status=201,
    tag="admin",
)
def admin_deduct(ctx: Ctx, body: Any, rental_id: str) -> Staged:
    """A partial deduction from a live freeze (damage, lost part), never beyond what is still frozen."""
    uow = ctx.uow()
    return Staged(uow, rentals.deduct(ctx.deps, uow, rental_id, body.amount, body.reason))


@route(
    bp,
    "/v1/admin/rentals/{rental_id}/damages",
    "POST",
    auth="admin",
    body="rentals:DamageIn",
    response="rentals:DamageRecordedOut",
    status=201,
    tag="admin",
)
def admin_record_damage(ctx: Ctx, body: Any, rental_id: str) -> Staged:
    """Named damage lines with evidence, taken from the freeze at close; never beyond what is still frozen."""
    uow = ctx.uow()
    return Staged(uow, damages.record(ctx.deps, uow, rental_id, body.lines, body.evidence))
