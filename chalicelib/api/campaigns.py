"""Operator campaigns (API.md "Admin": POST /v1/admin/campaigns)."""
from __future__ import annotations

from typing import Annotated, Literal

from chalice import Blueprint
from pydantic import Field

from ..services import campaigns
from .common import Body, Fen, FenOrZero, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


class CampaignIn(Body):
    tier: Literal["normal", "silver", "gold"]
    amount: Fen
    min_spend: FenOrZero
    valid_days: Annotated[int, Field(ge=1, le=366)]
    budget: Fen | None = None


class CampaignOut(Out):
    id: str
    tier: str
    amount: int
    min_spend: int
    valid_days: int
    budget: int | None
    valid_from: str
    valid_until: str
    given: int
    issued: int
    status: str
    created_at: str


@route(bp, "/v1/admin/campaigns", "POST", auth="admin", body=CampaignIn, response=CampaignOut, status=201,
       tag="admin")
def create_campaign(ctx: Ctx, body: CampaignIn) -> Staged:
    """Create a campaign: a coupon for every member of the tier, within the budget if one is given."""
    uow = ctx.uow()
    return Staged(uow, campaigns.create(uow, body.tier, body.amount, body.min_spend, body.valid_days, body.budget))
