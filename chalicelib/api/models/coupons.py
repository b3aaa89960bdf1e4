"""Coupons and operator campaigns."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..common import Body, Fen, FenOrZero, Out


class CouponOut(Out):
    id: str
    kind: Literal["first_order", "upgrade", "credit_day", "campaign", "referral"]
    amount: int
    min_spend: int
    valid_from: str
    valid_until: str
    status: Literal["available", "used", "expired"]
    # a percent-off coupon also carries "percent_off" (its `amount` is then the cap)


class CouponsOut(Out):
    coupons: list[CouponOut]


class CampaignIn(Body):
    tier: Literal["normal", "silver", "gold"]
    amount: Fen
    min_spend: FenOrZero
    valid_days: Annotated[int, Field(ge=1, le=366)]
    budget: Fen | None = None
    percent_off: Annotated[int, Field(ge=1, le=90)] | None = None


class CampaignOut(Out):
    id: str
    tier: str
    amount: int
    min_spend: int
    valid_days: int
    budget: int | None
    percent_off: int | None = None
    valid_from: str
    valid_until: str
    given: int
    issued: int
    status: str
    created_at: str
