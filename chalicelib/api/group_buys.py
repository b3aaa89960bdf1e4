"""Group-buys, teams, referrals and member-day reminders (API.md 'Group-buys and referrals', PRODUCT.md 6)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

group_buys = Lazy("chalicelib.services.growth.group_buys")
teams = Lazy("chalicelib.services.growth.teams")
referrals = Lazy("chalicelib.services.growth.referrals")
reminders = Lazy("chalicelib.services.growth.reminders")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/admin/group-buys",
    "POST",
    auth="admin",
    body="group_buys:GroupBuyIn",
    response="group_buys:GroupBuyOut",
    status=201,
    tag="admin",
)
def create_group_buy(ctx: Ctx, body: Any) -> Staged:
    """Open a group-buy: a group price once a team of team_size fills within its window."""
    uow = ctx.uow()
    return Staged(uow, group_buys.create(ctx.deps, uow, body))


@route(bp, "/v1/group-buys", "GET", auth="member", response="group_buys:GroupBuyList", tag="group-buys")
def list_group_buys(ctx: Ctx, _: None) -> dict:
    """The group-buys running now."""
    return {"items": group_buys.list_open(ctx.deps, ctx.now)}


@route(bp, "/v1/group-buys/{gb_id}", "GET", auth="member", response="group_buys:GroupBuyOut", tag="group-buys")
def get_group_buy(ctx: Ctx, _: None, gb_id: str) -> dict:
    """One group-buy."""
    return group_buys.view(group_buys.get(ctx.deps, gb_id))


@route(
    bp,
    "/v1/group-buys/{gb_id}/teams",
    "POST",
    auth="member",
    body="group_buys:SeatIn",
    response="group_buys:TeamOut",
    status=201,
    tag="group-buys",
)
def open_team(ctx: Ctx, body: Any, gb_id: str) -> Staged:
    """Lead a new team: the first seat is a pay-later order at the group price (409 rejected if refused)."""
    uow = ctx.uow()
    device = body.device_id or ctx.principal.device_id
    return Staged(
        uow, teams.open_team(ctx.deps, uow, ctx.member_id, gb_id, device, body.quantity, ctx.object_id("ord"))
    )


@route(
    bp,
    "/v1/teams/{share_code}/join",
    "POST",
    auth="member",
    body="group_buys:SeatIn",
    response="group_buys:TeamOut",
    status=201,
    tag="group-buys",
)
def join_team(ctx: Ctx, body: Any, share_code: str) -> Staged:
    """Take a seat in a team by its share code (case-insensitive)."""
    uow = ctx.uow()
    device = body.device_id or ctx.principal.device_id
    return Staged(
        uow, teams.join(ctx.deps, uow, ctx.member_id, share_code, device, body.quantity, ctx.object_id("ord"))
    )


@route(bp, "/v1/teams/{share_code}", "GET", auth="member", response="group_buys:TeamOut", tag="group-buys")
def get_team(ctx: Ctx, _: None, share_code: str) -> dict:
    """A team by its share code: status, seats, deadline."""
    return teams.view(teams.load(ctx.deps, share_code))


@route(bp, "/v1/me/referral", "GET", auth="member", response="group_buys:ReferralOut", tag="referrals")
def get_referral(ctx: Ctx, _: None) -> dict:
    """My referral code, who referred me, whom I invited and their rewards."""
    return referrals.view(ctx.deps, ctx.member_id)


@route(
    bp,
    "/v1/me/referral",
    "POST",
    auth="member",
    body="group_buys:ReferralIn",
    response="group_buys:BoundOut",
    tag="referrals",
)
def bind_referral(ctx: Ctx, body: Any) -> Staged:
    """Bind to a referrer's code (new members: within 30 days of the first sign-in, before a first order)."""
    uow = ctx.uow()
    return Staged(uow, referrals.bind(ctx.deps, uow, ctx.member_id, body.code, ctx.principal.device_id))


@route(
    bp,
    "/v1/me/reminders",
    "PUT",
    auth="member",
    body="group_buys:RemindersIn",
    response="group_buys:RemindersOut",
    tag="reminders",
)
def set_reminders(ctx: Ctx, body: Any) -> Staged:
    """Opt in or out of the credit-day reminder (the day before the monthly credit day)."""
    uow = ctx.uow()
    return Staged(uow, reminders.set_choices(ctx.deps, uow, ctx.member_id, body.credit_day))


@route(
    bp,
    "/v1/me/credit-day/confirm",
    "POST",
    auth="member",
    body="group_buys:ConfirmIn",
    response="group_buys:ConfirmOut",
    tag="reminders",
)
def confirm_credit_day(ctx: Ctx, body: Any) -> Staged:
    """Confirm taking part in this month's credit day (once, after its reminder)."""
    uow = ctx.uow()
    return Staged(uow, reminders.confirm(ctx.deps, uow, ctx.member_id))


@route(
    bp,
    "/v1/admin/credit-day",
    "GET",
    auth="admin",
    query="group_buys:CreditDayQuery",
    response="group_buys:CreditDayOut",
    tag="admin",
)
def credit_day_report(ctx: Ctx, query: Any) -> dict:
    """A month's credit day: members reminded, confirmations, coupons dropped."""
    return reminders.report(ctx.deps, query.month)
