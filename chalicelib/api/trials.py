"""Credit trials (PRODUCT.md section 4): gold members try a new product, deposit-free, rent 0.

POST /v1/trials {"product_id", "item_value", "days"} -> 201 {"id", "status": "pending_freeze"|"rejected", ...};
GET /v1/trials/{id}; POST /v1/trials/{id}/return; POST /v1/admin/products/{id}/trial-slots {"slots"}.
"""
from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from ..domain.trials import MAX_TRIAL_DAYS
from ..services import trials
from .common import Body, Fen, Id, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


class TrialIn(Body):
    product_id: Id
    item_value: Fen
    days: int = Field(ge=1, le=MAX_TRIAL_DAYS)


class TrialOut(Out):
    id: str
    product_id: str
    item_value: int
    days: int
    rent: int
    status: str
    decision: str
    reason: str | None
    ends_at: str


class EmptyIn(Body):
    pass


class SlotsIn(Body):
    slots: int = Field(gt=0, le=100_000)


class SlotsOut(Out):
    product_id: str
    available: int


@route(bp, "/v1/trials", "POST", auth="member", body=TrialIn, response=TrialOut, status=201, tag="trials")
def create_trial(ctx: Ctx, body: TrialIn) -> Staged:
    """Take one of the product's trial slots on a deposit-free freeze, rent 0 (gold members)."""
    uow = ctx.uow()
    return Staged(uow, trials.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body))


@route(bp, "/v1/trials/{trial_id}", "GET", auth="member", response=TrialOut, tag="trials")
def get_trial(ctx: Ctx, _: None, trial_id: str) -> dict:
    """One of the member's trials."""
    return trials.view(trials.load_own(ctx.deps, ctx.member_id, trial_id))


@route(bp, "/v1/trials/{trial_id}/return", "POST", auth="member", body=EmptyIn, response=TrialOut, tag="trials")
def return_trial(ctx: Ctx, body: EmptyIn, trial_id: str) -> dict:
    """Give the product back: the freeze is released, nothing is paid."""
    return trials.return_trial(ctx.deps, ctx.member_id, trial_id)


@route(bp, "/v1/admin/products/{product_id}/trial-slots", "POST", auth="admin", body=SlotsIn, response=SlotsOut,
       tag="admin")
def add_trial_slots(ctx: Ctx, body: SlotsIn, product_id: str) -> dict:
    """Open trial slots for a product."""
    return trials.add_slots(ctx.deps, product_id, body.slots, ctx.principal.caller)
