"""Bookings and reservations (API.md 'Bookings and reservations'), and the stock that offers places."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

bookings = Lazy("chalicelib.services.orders.bookings")
reservations = Lazy("chalicelib.services.orders.reservations")

bp = Blueprint(__name__)


@route(
    bp,
    "/v1/bookings",
    "POST",
    auth="member",
    body="bookings:BookingIn",
    response="bookings:BookingOut",
    status=201,
    tag="bookings",
)
def create_booking(ctx: Ctx, body: Any) -> Staged:
    """Book a service guaranteed by credit: nothing is paid up front."""
    uow = ctx.uow()
    return Staged(
        uow, bookings.create(ctx.deps, uow, ctx.member_id, ctx.principal.device_id, body, ctx.object_id("bkg"))
    )


@route(bp, "/v1/bookings/{booking_id}", "GET", auth="member", response="bookings:BookingOut", tag="bookings")
def get_booking(ctx: Ctx, _: None, booking_id: str) -> dict:
    """One of the member's bookings."""
    return bookings.view(bookings.load_own(ctx.deps, ctx.member_id, booking_id))


@route(
    bp,
    "/v1/bookings/{booking_id}/cancel",
    "POST",
    auth="member",
    body="bookings:EmptyIn",
    response="bookings:BookingOut",
    tag="bookings",
)
def cancel_booking(ctx: Ctx, body: Any, booking_id: str) -> Staged:
    """Cancel before the start; the answer carries the cancellation fee (charged by the worker)."""
    uow = ctx.uow()
    return Staged(uow, bookings.cancel(ctx.deps, uow, ctx.member_id, booking_id))


@route(
    bp,
    "/v1/bookings/{booking_id}/complete",
    "POST",
    auth="member",
    body="bookings:CompleteIn",
    response="bookings:BookingOut",
    tag="bookings",
)
def complete_booking(ctx: Ctx, body: Any, booking_id: str) -> Staged:
    """After the service: satisfied -> charged; not satisfied -> disputed (operators' review queue)."""
    uow = ctx.uow()
    return Staged(uow, bookings.complete(ctx.deps, uow, ctx.member_id, booking_id, body.satisfied, body.comment))


@route(
    bp,
    "/v1/reservations",
    "POST",
    auth="member",
    body="bookings:ReservationIn",
    response="bookings:ReservationOut",
    status=201,
    tag="reservations",
)
def create_reservation(ctx: Ctx, body: Any) -> Staged:
    """Reserve a coming product with no deposit (silver and gold)."""
    uow = ctx.uow()
    return Staged(uow, reservations.create(ctx.deps, uow, ctx.member_id, body.product_id))


@route(
    bp,
    "/v1/reservations/{reservation_id}",
    "GET",
    auth="member",
    response="bookings:ReservationOut",
    tag="reservations",
)
def get_reservation(ctx: Ctx, _: None, reservation_id: str) -> dict:
    """One of the member's reservations, with its place in the queue while waiting."""
    item = reservations.load_own(ctx.deps, ctx.member_id, reservation_id)
    return reservations.view(item, reservations.position(ctx.deps, item))


@route(
    bp,
    "/v1/reservations/{reservation_id}/convert",
    "POST",
    auth="member",
    body="bookings:EmptyIn",
    response="bookings:ReservationOut",
    tag="reservations",
)
def convert_reservation(ctx: Ctx, body: Any, reservation_id: str) -> Staged:
    """Take the offered place within its 3 days."""
    uow = ctx.uow()
    return Staged(uow, reservations.convert(ctx.deps, uow, ctx.member_id, reservation_id))


@route(
    bp,
    "/v1/admin/products/{product_id}/stock",
    "POST",
    auth="admin",
    body="bookings:StockIn",
    response="bookings:StockOut",
    tag="admin",
)
def add_stock(ctx: Ctx, body: Any, product_id: str) -> Staged:
    """Stock arrives: places are offered by tier (gold first), then by time."""
    uow = ctx.uow()
    return Staged(uow, reservations.add_stock(ctx.deps, uow, product_id, body.quantity))
