"""Sessions, credit authorization and the member's own view."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

credit = Lazy("chalicelib.services.members.credit")
members = Lazy("chalicelib.services.members.members")
referrals = Lazy("chalicelib.services.growth.referrals")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/sessions",
    "POST",
    auth="none",
    body="members:SessionIn",
    response="members:SessionOut",
    status=201,
    tag="members",
)
def create_session(ctx: Ctx, body: Any) -> Staged:
    """Sign in with the mini-program login code."""
    uow = ctx.uow()
    out = credit.sign_in(ctx.deps, uow, body.provider, body.code, body.device_id)
    if body.referral_code:  # bound once the sign-in has committed; a bad code never fails the sign-in
        uow.after_commit(
            lambda: referrals.bind_at_sign_in(ctx.deps, out["member_id"], body.referral_code, body.device_id)
        )
    return Staged(uow, out)


@route(
    bp,
    "/v1/credit/authorizations",
    "POST",
    auth="member",
    body="members:AuthorizationIn",
    response="members:AuthorizationOut",
    status=201,
    tag="members",
)
def authorize_credit(ctx: Ctx, body: Any) -> Staged:
    """Authorize a credit query; only the score band is kept."""
    uow = ctx.uow()
    return Staged(uow, credit.authorize(ctx.deps, uow, ctx.member_id))


@route(bp, "/v1/credit/authorization", "DELETE", auth="member", status=204, tag="members")
def withdraw_consent(ctx: Ctx, _: None) -> None:
    """Withdraw consent: the snapshot is deleted."""
    uow = ctx.uow()
    credit.withdraw(ctx.deps, uow, ctx.member_id)
    uow.commit()


@route(bp, "/v1/me", "GET", auth="member", response="members:MeOut", tag="members")
def me(ctx: Ctx, _: None) -> dict:
    """The member's band, tier, benefits, limit and exposure."""
    member = members.load(ctx.deps.table, ctx.member_id)
    return members.view(member, ctx.now, ctx.deps.settings.policy)
