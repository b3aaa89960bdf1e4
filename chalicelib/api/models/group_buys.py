"""Request and response models of chalicelib/api/group_buys.py."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..common import Body, Fen, Out


class GroupBuyIn(Body):
    product_id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    price: Fen
    group_price: Fen
    team_size: int = Field(ge=2, le=100)
    per_member_limit: int = Field(default=1, ge=1, le=1000)
    team_hours: int = Field(default=24, ge=1, le=168)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    scenario: str = Field(min_length=1, max_length=64)
    trial_days: int | None = Field(default=None, ge=7, le=30)
    virtual_fill: bool = False
    new_members_only: bool = False


class GroupBuyOut(Out):
    id: str
    product_id: str
    title: str
    price: int
    group_price: int
    team_size: int
    per_member_limit: int
    team_hours: int
    starts_at: str
    ends_at: str
    scenario: str
    trial_days: int | None
    virtual_fill: bool
    new_members_only: bool


class GroupBuyList(Out):
    items: list[GroupBuyOut]


class SeatIn(Body):
    device_id: str | None = Field(default=None, min_length=1, max_length=128)
    quantity: int = Field(default=1, ge=1, le=1000)


class SeatOut(Out):
    member_id: str
    order_id: str
    quantity: int


class TeamOut(Out):
    id: str
    share_code: str
    group_buy_id: str
    status: Literal["open", "full", "virtual_full", "failed"]
    size: int
    seats: list[SeatOut]
    expires_at: str


class ReferralIn(Body):
    code: str = Field(min_length=1, max_length=32)


class BoundOut(Out):
    code: str
    referred_by: str
    status: Literal["bound"]


class RewardOut(Out):
    member_id: str
    status: Literal["pending", "earned", "void", "review"]
    coupon_id: str | None = None


class ReferralOut(Out):
    code: str
    referred_by: str | None
    invited: int
    rewards: list[RewardOut]


class RemindersIn(Body):
    credit_day: bool


class RemindersOut(Out):
    credit_day: bool


class ConfirmIn(Body):
    pass


class ConfirmOut(Out):
    month: str
    credit_day: str
    confirmed: bool


class CreditDayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class CreditDayOut(Out):
    month: str
    reminded: int
    confirmed: int
    coupons_dropped: int
