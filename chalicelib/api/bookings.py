"""Bookings and reservations (API.md 'Bookings and reservations'), and the stock that offers places."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import AwareDatetime, Field

from ..services import bookings, reservations
from .common import Body, Fen, Id, Out
from .routing import Ctx, Staged, route

bp = Blueprint(__name__)


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


@route(bp, "/v1/bookings", "POST", auth="member", body=BookingIn, response=BookingOut, status=201, tag="bookings")
def create_booking(ctx: Ctx, body: BookingIn) -> Staged:
    """Book a service guaranteed by credit: nothing is paid up front."""
    uow = ctx.uow()
    return Staged(uow, bookings.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body))


@route(bp, "/v1/bookings/{booking_id}", "GET", auth="member", response=BookingOut, tag="bookings")
def get_booking(ctx: Ctx, _: None, booking_id: str) -> dict:
    """One of the member's bookings."""
    return bookings.view(bookings.load_own(ctx.deps, ctx.member_id, booking_id))


@route(bp, "/v1/bookings/{booking_id}/cancel", "POST", auth="member", body=EmptyIn, response=BookingOut,
       tag="bookings")
def cancel_booking(ctx: Ctx, body: EmptyIn, booking_id: str) -> Staged:
    """Cancel before the start; the answer carries the cancellation fee (charged by the worker)."""
    uow = ctx.uow()
    return Staged(uow, bookings.cancel(ctx.deps, uow, ctx.member_id, booking_id))


@route(bp, "/v1/bookings/{booking_id}/complete", "POST", auth="member", body=CompleteIn, response=BookingOut,
       tag="bookings")
def complete_booking(ctx: Ctx, body: CompleteIn, booking_id: str) -> dict:
    """After the service: satisfied -> charged; not satisfied -> disputed (operators' review queue)."""
    return bookings.complete(ctx.deps, ctx.member_id, booking_id, body.satisfied, body.comment)


@route(bp, "/v1/reservations", "POST", auth="member", body=ReservationIn, response=ReservationOut, status=201,
       tag="reservations")
def create_reservation(ctx: Ctx, body: ReservationIn) -> Staged:
    """Reserve a coming product with no deposit (silver and gold)."""
    uow = ctx.uow()
    return Staged(uow, reservations.create(ctx.deps, uow, ctx.member_id, body.product_id))


@route(bp, "/v1/reservations/{reservation_id}", "GET", auth="member", response=ReservationOut, tag="reservations")
def get_reservation(ctx: Ctx, _: None, reservation_id: str) -> dict:
    """One of the member's reservations, with its place in the queue while waiting."""
    item = reservations.load_own(ctx.deps, ctx.member_id, reservation_id)
    return reservations.view(item, reservations.position(ctx.deps, item))


@route(bp, "/v1/reservations/{reservation_id}/convert", "POST", auth="member", body=EmptyIn,
       response=ReservationOut, tag="reservations")
def convert_reservation(ctx: Ctx, body: EmptyIn, reservation_id: str) -> Staged:
    """Take the offered place within its 3 days."""
    uow = ctx.uow()
    return Staged(uow, reservations.convert(ctx.deps, uow, ctx.member_id, reservation_id))


@route(bp, "/v1/admin/products/{product_id}/stock", "POST", auth="admin", body=StockIn, response=StockOut,
       tag="admin")
def add_stock(ctx: Ctx, body: StockIn, product_id: str) -> dict:
    """Stock arrives: places are offered by tier (gold first), then by time."""
    return reservations.add_stock(ctx.deps, product_id, body.quantity, ctx.principal.caller)
