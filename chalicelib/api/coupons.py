"""The member's coupons (API.md "Coupons")."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint

from ..services import coupons
from .common import Out
from .routing import Ctx, route

bp = Blueprint(__name__)


class CouponOut(Out):
    id: str
    kind: Literal["first_order", "upgrade", "credit_day", "campaign"]
    amount: int
    min_spend: int
    valid_from: str
    valid_until: str
    status: Literal["available", "used", "expired"]


class CouponsOut(Out):
    coupons: list[CouponOut]


@route(bp, "/v1/coupons", "GET", auth="member", response=CouponsOut, tag="coupons")
def list_coupons(ctx: Ctx, _: None) -> dict:
    """The member's coupons, newest first, with status available/used/expired."""
    return {"coupons": coupons.list_for_member(ctx.deps.table, ctx.member_id, ctx.now)}
