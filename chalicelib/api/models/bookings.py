"""Request and response models of chalicelib/api/bookings.py."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from ..common import Body, Fen, Id, Out


class BookingIn(Body):
    service_id: Id
    starts_at: AwareDatetime
    price: Fen


class BookingOut(Out):
    id: str
    status: str
    decision: Literal["approved", "review", "rejected"]
    reason: str | None
    service_id: str
    starts_at: str
    price: int
    cancellation_fee: int | None = None
    charged: int
    lines: list[dict] = Field(default_factory=list, description="what was taken, by name")
    discounts: list[dict] = Field(default_factory=list, description="lines - discounts = the amount taken")


class CompleteIn(Body):
    satisfied: bool
    comment: str | None = Field(default=None, max_length=2000)


class EmptyIn(Body):
    pass


class ReservationIn(Body):
    product_id: Id


class ReservationOut(Out):
    id: str
    product_id: str
    status: Literal["waiting", "offered", "converted", "expired"]
    position: int | None
    offer_expires_at: str | None = None


class StockIn(Body):
    quantity: int = Field(gt=0, le=1_000_000)


class StockOut(Out):
    product_id: str
    offered: int
    available: int
