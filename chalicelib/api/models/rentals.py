"""Request and response models of chalicelib/api/rentals.py."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..common import Body, Fen, FenOrZero, Id, Out


class RentalIn(Body):
    scenario: str = Field(min_length=1, max_length=64)
    item_id: Id
    item_value: Fen
    daily_rent: FenOrZero
    days: int = Field(ge=1, le=365)
    coupon_id: Id | None = None


class NamedAmount(Out):
    name: str
    amount: int


class RentalOut(Out):
    id: str
    decision: Literal["deposit_free", "deposit_required", "review", "rejected"]
    reason: str | None
    status: Literal[
        "pending_freeze",
        "awaiting_deposit",
        "review",
        "active",
        "returned",
        "inspecting",
        "closing",
        "closed",
        "rejected",
    ]
    frozen_amount: int
    deposit_amount: int
    due_at: str
    outcome: Literal["returned", "defaulted", "settled", "bought_out"] | None = None
    rent_charged: int | None = None
    deducted_amount: int = 0
    released_amount: int | None = None
    lines: list[NamedAmount] | None = Field(
        None,
        description="closed: what was taken, by name (rent, overdue_fee, damage, lost_accessory, cleaning, buyout)",
    )
    discounts: list[NamedAmount] | None = Field(None, description="closed: lines - discounts = the amount taken")


class RentalListOut(Out):
    items: list[RentalOut]


class ReturnIn(Body):
    pass


class RenewIn(Body):
    days: int = Field(ge=1, le=30, description="days to extend by (1-30)")


class BuyoutIn(Body):
    pass


class BuyoutOut(RentalOut):
    buyout_price: int


class DeductionIn(Body):
    amount: Fen
    reason: str = Field(min_length=1, max_length=200)


class DamageLineIn(Body):
    name: Literal["damage", "lost_accessory", "cleaning"]
    amount: Fen
    note: str | None = Field(None, max_length=200)


class DamageIn(Body):
    lines: list[DamageLineIn] = Field(min_length=1, max_length=10)
    evidence: list[Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2048)]] = Field(
        default_factory=list, max_length=20, description="links to photos or reports of the damage"
    )


class DamageOut(Out):
    id: str
    lines: list[dict]
    evidence: list[str]
    total: int
    at: str


class DamageRecordedOut(RentalOut):
    damage: DamageOut


class MoneyFact(Out):
    kind: str
    amount: int
    reason: str
    out_request_no: str | None
    at: str


class AdminRentalOut(RentalOut):
    member_id: str
    money: list[MoneyFact]


class DisputeIn(Body):
    reason: str = Field(min_length=1, max_length=1000)


class DisputeOut(Out):
    id: str
    status: Literal["open", "refunding", "upheld", "rejected"]
    respond_by: str
    rental_id: str
    reason: str
    lines: list[NamedAmount]
    amount: int


class InspectingRow(Out):
    rental_id: str
    member_id: str
    scenario: str
    inspection_until: str


class OpenDisputeRow(Out):
    id: str
    rental_id: str
    reason: str
    amount: int
    respond_by: str
    overdue: bool = Field(description="unanswered past respond_by")


class AttentionOut(Out):
    inspecting: list[InspectingRow]
    disputes: list[OpenDisputeRow]
    overdue_disputes: int
