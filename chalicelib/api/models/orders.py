"""Request and response models of chalicelib/api/orders.py."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common import Body, Fen, Id, Out


class OrderIn(Body):
    kind: Literal["pay_later", "installment"]
    scenario: str = Field(min_length=1, max_length=64)
    amount: Fen
    trial_days: int | None = None
    installments: Literal[3, 6, 12] | None = None
    coupon_id: Id | None = None


class OrderOut(Out):
    id: str
    kind: str
    decision: Literal["approved", "review", "rejected"]
    reason: str | None
    status: str
    amount: int
    discount: int
    payable: int
    charge_at: str | None
    charged: int
    refunded: int
    lines: list[dict] = Field(default_factory=list, description="what was taken, by name")
    discounts: list[dict] = Field(default_factory=list, description="lines - discounts = the amount taken")


class OrderList(Out):
    items: list[OrderOut]


class EmptyIn(Body):
    pass


class RefundIn(Body):
    amount: Fen | None = None


class QuoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    amount: Fen


class PlanOut(Out):
    installments: Literal[3, 6, 12]
    eligible: bool
    first_payment: int
    per_period: int
    fee_payer: Literal["merchant"]


class QuoteOut(Out):
    plans: list[PlanOut]
