"""Operator campaigns (API.md "Admin": POST /v1/admin/campaigns)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

campaigns = Lazy("chalicelib.services.marketing.campaigns")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/admin/campaigns",
    "POST",
    auth="admin",
    body="coupons:CampaignIn",
    response="coupons:CampaignOut",
    status=201,
    tag="admin",
)
def create_campaign(ctx: Ctx, body: Any) -> Staged:
    """Create a campaign: a coupon for every member of the tier, within the budget if one is given."""
    uow = ctx.uow()
    return Staged(
        uow,
        campaigns.create(uow, body.tier, body.amount, body.min_spend, body.valid_days, body.budget, body.percent_off),
    )
