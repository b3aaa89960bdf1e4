"""Sessions, credit authorization and the member's own view."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import Field

from ..services import credit, members
from .common import Body, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


class SessionIn(Body):
    provider: Literal["alipay", "wechat", "sandbox"]
    code: str = Field(min_length=1, max_length=512)
    device_id: str | None = Field(default=None, min_length=1, max_length=128)


class SessionOut(Out):
    token: str
    member_id: str
    expires_at: str


class AuthorizationIn(Body):
    pass


class AuthorizationOut(Out):
    status: Literal["granted", "declined", "pending"]
    score_band: str | None = None
    tier: str | None = None
    provider_params: dict | None = None


class MeOut(Out):
    member_id: str
    provider: str
    score_band: str | None
    tier: Literal["none", "normal", "silver", "gold"]
    benefits: list[str]
    credit_limit: int
    exposure: int
    available_credit: int
    authorization_expires_at: str | None
    blacklisted: bool
    on_time_count: int
    default_count: int


@route(bp, "/v1/sessions", "POST", auth="none", body=SessionIn, response=SessionOut, status=201, tag="members")
def create_session(ctx: Ctx, body: SessionIn) -> Staged:
    """Sign in with the mini-program login code."""
    uow = ctx.uow()
    return Staged(uow, credit.sign_in(ctx.deps, uow, body.provider, body.code, body.device_id))


@route(bp, "/v1/credit/authorizations", "POST", auth="member", body=AuthorizationIn, response=AuthorizationOut,
       status=201, tag="members")
def authorize_credit(ctx: Ctx, body: AuthorizationIn) -> Staged:
    """Authorize a credit query; only the score band is kept."""
    uow = ctx.uow()
    return Staged(uow, credit.authorize(ctx.deps, uow, ctx.member_id))


@route(bp, "/v1/credit/authorization", "DELETE", auth="member", status=204, tag="members")
def withdraw_consent(ctx: Ctx, _: None) -> None:
    """Withdraw consent: the snapshot is deleted."""
    uow = ctx.uow()
    credit.withdraw(ctx.deps, uow, ctx.member_id)
    uow.commit()


@route(bp, "/v1/me", "GET", auth="member", response=MeOut, tag="members")
def me(ctx: Ctx, _: None) -> dict:
    """The member's band, tier, benefits, limit and exposure."""
    member = members.load(ctx.deps.table, ctx.member_id)
    return members.view(member, ctx.now, ctx.deps.settings.policy)
