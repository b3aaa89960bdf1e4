"""Rentals (API.md "Rentals") and the operators' rental routes (API.md "Admin")."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import Field

from ..domain.errors import NotFound
from ..services import rental_security  # noqa: F401 - registers the freeze/deposit notification handlers
from ..services import rental_store, rentals
from .common import Body, Fen, FenOrZero, Id, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


class RentalIn(Body):
    scenario: str = Field(min_length=1, max_length=64)
    item_id: Id
    item_value: Fen
    daily_rent: FenOrZero
    days: int = Field(ge=1, le=365)
    coupon_id: Id | None = None


class RentalOut(Out):
    id: str
    decision: Literal["deposit_free", "deposit_required", "review", "rejected"]
    reason: str | None
    status: Literal["pending_freeze", "awaiting_deposit", "review", "active", "returned", "closed", "rejected"]
    frozen_amount: int
    deposit_amount: int
    due_at: str
    outcome: Literal["returned", "defaulted", "settled"] | None = None
    rent_charged: int | None = None
    deducted_amount: int = 0
    released_amount: int | None = None


class RentalListOut(Out):
    items: list[RentalOut]


class ReturnIn(Body):
    pass


class DeductionIn(Body):
    amount: Fen
    reason: str = Field(min_length=1, max_length=200)


class MoneyFact(Out):
    kind: Literal["rent", "deduction", "release"]
    amount: int
    reason: str
    out_request_no: str | None
    at: str


class AdminRentalOut(RentalOut):
    member_id: str
    money: list[MoneyFact]


@route(bp, "/v1/rentals", "POST", auth="member", body=RentalIn, response=RentalOut, status=201, tag="rentals")
def create_rental(ctx: Ctx, body: RentalIn) -> Staged:
    """Apply for a rental: decided at once; deposit-free ones are frozen by the provider."""
    uow = ctx.uow()
    return Staged(uow, rentals.apply(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body))


@route(bp, "/v1/rentals", "GET", auth="member", response=RentalListOut, tag="rentals")
def list_rentals(ctx: Ctx, _: None) -> dict:
    """The member's rentals, newest first."""
    return {"items": rental_store.list_for(ctx.deps.table, ctx.member_id)}


@route(bp, "/v1/rentals/{rental_id}", "GET", auth="member", response=RentalOut, tag="rentals")
def get_rental(ctx: Ctx, _: None, rental_id: str) -> dict:
    """One of the member's rentals (another member's is a 404)."""
    return rental_store.view(rental_store.load(ctx.deps.table, rental_id, ctx.member_id))


@route(bp, "/v1/rentals/{rental_id}/return", "POST", auth="member", body=ReturnIn, response=RentalOut,
       tag="rentals")
def return_rental(ctx: Ctx, _: ReturnIn, rental_id: str) -> Staged:
    """The item is back: the rent is taken from the freeze and the rest released (by a worker)."""
    uow = ctx.uow()
    return Staged(uow, rentals.return_item(ctx.deps, uow, ctx.member_id, rental_id))


@route(bp, "/v1/admin/rentals/{rental_id}", "GET", auth="admin", response=AdminRentalOut, tag="admin")
def admin_get_rental(ctx: Ctx, _: None, rental_id: str) -> dict:
    """A rental with its full money history (append-only facts: rent, deductions, release)."""
    item, money = rental_store.money_history(ctx.deps.table, rental_id)
    if item is None:
        raise NotFound("rental not found")
    return {**rental_store.view(item), "member_id": item["member_id"], "money": money}


@route(bp, "/v1/admin/rentals/{rental_id}/deductions", "POST", auth="admin", body=DeductionIn,
       response=RentalOut, status=201, tag="admin")
def admin_deduct(ctx: Ctx, body: DeductionIn, rental_id: str) -> Staged:
    """A partial deduction from a live freeze (damage, lost part), never beyond what is still frozen."""
    uow = ctx.uow()
    return Staged(uow, rentals.deduct(ctx.deps, uow, rental_id, body.amount, body.reason))
