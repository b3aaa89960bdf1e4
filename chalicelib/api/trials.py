"""Credit trials (PRODUCT.md section 4): gold members try a new product, deposit-free, rent 0.

POST /v1/trials {"product_id", "item_value", "days"} -> 201 {"id", "status": "pending_freeze"|"rejected", ...};
GET /v1/trials/{id}; POST /v1/trials/{id}/return; POST /v1/admin/products/{id}/trial-slots {"slots"}.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

trials = Lazy("chalicelib.services.rentals.trials")

bp = Blueprint(__name__)


@route(
    bp, "/v1/trials", "POST", auth="member", body="trials:TrialIn", response="trials:TrialOut", status=201, tag="trials"
)
def create_trial(ctx: Ctx, body: Any) -> Staged:
    """Take one of the product's trial slots on a deposit-free freeze, rent 0 (gold members)."""
    uow = ctx.uow()
    return Staged(uow, trials.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body))


@route(bp, "/v1/trials/{trial_id}", "GET", auth="member", response="trials:TrialOut", tag="trials")
def get_trial(ctx: Ctx, _: None, trial_id: str) -> dict:
    """One of the member's trials."""
    return trials.view(trials.load_own(ctx.deps, ctx.member_id, trial_id))


@route(
    bp,
    "/v1/trials/{trial_id}/return",
    "POST",
    auth="member",
    body="trials:EmptyIn",
    response="trials:TrialOut",
    tag="trials",
)
def return_trial(ctx: Ctx, body: Any, trial_id: str) -> Staged:
    """Give the product back: the freeze is released, nothing is paid."""
    uow = ctx.uow()
    return Staged(uow, trials.return_trial(ctx.deps, uow, ctx.member_id, trial_id))


@route(
    bp,
    "/v1/admin/products/{product_id}/trial-slots",
    "POST",
    auth="admin",
    body="trials:SlotsIn",
    response="trials:SlotsOut",
    tag="admin",
)
def add_trial_slots(ctx: Ctx, body: Any, product_id: str) -> Staged:
    """Open trial slots for a product."""
    uow = ctx.uow()
    return Staged(uow, trials.add_slots(ctx.deps, uow, product_id, body.slots))
