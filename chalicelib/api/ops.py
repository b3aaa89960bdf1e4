"""Operations: metrics per score band, the audit log, the OpenAPI document and the dashboard page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from ..domain.errors import ValidationFailed
from ..lazy import Lazy
from .routing import Ctx, json_response, route

analytics = Lazy("chalicelib.services.ops.analytics")
audit = Lazy("chalicelib.services.ops.audit")
growth_stats = Lazy("chalicelib.services.growth.stats")
reconciliation = Lazy("chalicelib.services.ops.reconciliation")

bp = Blueprint(__name__)
STATIC = Path(__file__).resolve().parent / "static"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(value: str | None, field: str, default: date) -> date:
    if value is None:
        return default
    try:
        if not DAY.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: expected a date YYYY-MM-DD", field) from exc


def date_range(query: Any, today: date) -> tuple[date, date]:
    """[from, to] from the query: to defaults to today, from to 29 days before to; at most 366 days."""
    to_day = _day(query.to, "to", today)
    default_from = to_day - timedelta(days=29) if to_day.toordinal() > 29 else date.min  # no overflow at year 1
    from_day = _day(query.from_, "from", default_from)
    if from_day > to_day:
        raise ValidationFailed("from: must not be after to", "from")
    if (to_day - from_day).days + 1 > analytics.MAX_DAYS:
        raise ValidationFailed(f"from: the range is longer than {analytics.MAX_DAYS} days", "from")
    return from_day, to_day


@route(bp, "/v1/admin/metrics", "GET", auth="admin", query="ops:MetricsQuery", response="ops:MetricsOut", tag="admin")
def get_metrics(ctx: Ctx, query: Any) -> dict:
    """Authorization rate, members, conversion, order value, bad debt and repurchase per band, scenario and day."""
    from_day, to_day = date_range(query, ctx.now.date())
    out = analytics.report(ctx.deps.table, from_day, to_day)
    out["group_buys"] = growth_stats.group_buys(ctx.deps.table, from_day, to_day)  # teams and fill rate
    return out


@route(bp, "/v1/admin/audit", "GET", auth="admin", query="ops:AuditQuery", response="ops:AuditOut", tag="admin")
def get_audit(ctx: Ctx, query: Any) -> dict:
    """The audit log of one entity, newest first: who, what, when, before and after."""
    return {"items": audit.entries(ctx.deps.table, query.entity_id, query.limit)}


@route(
    bp,
    "/v1/admin/reconciliation",
    "GET",
    auth="admin",
    query="ops:ReconciliationQuery",
    response="ops:ReconciliationOut",
    tag="admin",
)
def get_reconciliation(ctx: Ctx, query: Any) -> dict:
    """The daily bill reconciliation of one day: per provider matched, only at the provider, only with us,
    amount differs (filled by the daily job reconcile_bills; empty before it ran)."""
    day = _day(query.date, "date", ctx.now.date())
    return reconciliation.report(ctx.deps.table, day.isoformat())


@route(bp, "/v1/openapi.json", "GET", auth="none", raw=True, tag="meta")
def get_openapi(ctx: Ctx) -> Response:
    from . import openapi  # pydantic's schema machinery only when the document is asked for

    """This API's OpenAPI 3.1 document, generated from the routes' own models."""
    return json_response(200, openapi.document())


@route(bp, "/admin", "GET", auth="none", raw=True, tag="admin")
def dashboard(ctx: Ctx) -> Response:
    """The operators' dashboard page (its data calls need the admin key, entered on the page)."""
    return Response(
        body=_page(),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; img-src 'self' data:",
        },
    )


@lru_cache(maxsize=1)
def _page() -> str:
    return (STATIC / "dashboard.html").read_text(encoding="utf-8")
