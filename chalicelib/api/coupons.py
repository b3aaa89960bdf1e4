"""The member's coupons (API.md "Coupons")."""

from __future__ import annotations

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, route

coupons = Lazy("chalicelib.services.marketing.coupons")

bp = Blueprint(__name__)


@route(bp, "/v1/coupons", "GET", auth="member", response="coupons:CouponsOut", tag="coupons")
def list_coupons(ctx: Ctx, _: None) -> dict:
    """The member's coupons, newest first, with status available/used/expired."""
    return {"coupons": coupons.list_for_member(ctx.deps.table, ctx.member_id, ctx.now)}
