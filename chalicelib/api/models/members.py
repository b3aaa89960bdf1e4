"""Sessions, credit authorization, the member's own view."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..common import Body, Out


class SessionIn(Body):
    provider: Literal["alipay", "wechat", "sandbox"]
    code: str = Field(min_length=1, max_length=512)
    device_id: str | None = Field(default=None, min_length=1, max_length=128)
    referral_code: str | None = Field(default=None, min_length=1, max_length=32)


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
