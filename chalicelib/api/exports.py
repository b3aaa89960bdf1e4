"""CSV exports for the merchant's finance team (API.md "exports"): orders, rentals, charges, refunds."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.errors import DomainError
from ..lazy import Lazy
from .errors import from_domain, from_validation
from .ops import date_range
from .routing import Ctx, resolve, route

exports = Lazy("chalicelib.services.ops.exports")

bp = Blueprint(__name__)
QUERY = "exports:ExportQuery"


def _csv(ctx: Ctx, export: str) -> Response:
    from pydantic import ValidationError

    try:
        query = resolve(QUERY).model_validate(dict(ctx.request.query_params or {}))
        from_day, to_day = date_range(query, ctx.now.date())
    except ValidationError as exc:
        return from_validation(exc)
    except DomainError as exc:
        return from_domain(exc)
    body = "".join(exports.csv_lines(ctx.deps.table, export, from_day, to_day))
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{export}-{from_day}-{to_day}.csv"',
        },
    )


@route(bp, "/v1/admin/exports/orders.csv", "GET", auth="admin", query=QUERY, raw=True, tag="admin")
def export_orders(ctx: Ctx) -> Response:
    """Orders created in the range, one row each with its current status, money in fen."""
    return _csv(ctx, "orders")


@route(bp, "/v1/admin/exports/rentals.csv", "GET", auth="admin", query=QUERY, raw=True, tag="admin")
def export_rentals(ctx: Ctx) -> Response:
    """Rentals created in the range, one row each with its current status, money in fen."""
    return _csv(ctx, "rentals")


@route(bp, "/v1/admin/exports/charges.csv", "GET", auth="admin", query=QUERY, raw=True, tag="admin")
def export_charges(ctx: Ctx) -> Response:
    """Money taken in the range: order and booking charges, booking fees, rent and deductions (fen)."""
    return _csv(ctx, "charges")


@route(bp, "/v1/admin/exports/refunds.csv", "GET", auth="admin", query=QUERY, raw=True, tag="admin")
def export_refunds(ctx: Ctx) -> Response:
    """Refunds paid back in the range (fen)."""
    return _csv(ctx, "refunds")
