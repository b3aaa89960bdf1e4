"""Operations: metrics per score band, the audit log, the OpenAPI document and the dashboard page."""
from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

from ..domain.errors import ValidationFailed
from ..services import analytics, audit
from . import openapi
from .common import Out
from .routing import Ctx, json_response, route

bp = Blueprint(__name__)
STATIC = Path(__file__).resolve().parent / "static"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Query(BaseModel):
    """Query strings: unknown parameters refused, values are text."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MetricsQuery(Query):
    from_: str | None = Field(default=None, alias="from", description="First day, YYYY-MM-DD (default: to - 29 days)")
    to: str | None = Field(default=None, description="Last day, YYYY-MM-DD, inclusive (default: today, UTC)")


class Counters(Out):
    auth_asked: int
    auth_granted: int
    decisions: int
    rejected: int
    reviews: int
    orders: int
    order_amount: int = Field(description="fen")
    first_orders: int
    second_orders: int
    closed: int
    defaulted: int
    authorization_rate: float | None = Field(description="auth_granted / auth_asked")
    conversion: float | None = Field(description="(decisions - rejected) / decisions")
    average_order_value: int | None = Field(description="order_amount / orders, fen")
    bad_debt_rate: float | None = Field(description="defaulted / closed")


class Totals(Counters):
    members: int = Field(description="members holding a band snapshot now")
    buyers: int = Field(description="members with 1+ orders")
    repeat_buyers: int = Field(description="members with 2+ orders")
    repurchase_rate: float | None = Field(description="repeat_buyers / buyers")


class BandRow(Totals):
    band: str


class ScenarioRow(Counters):
    scenario: str


class DayRow(Counters):
    day: str


class BandDayRow(DayRow):
    band: str


class MetricsOut(Out):
    model_config = ConfigDict(extra="allow", serialize_by_alias=True, populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    days: int
    bands: list[str]
    totals: Totals
    by_band: list[BandRow]
    by_scenario: list[ScenarioRow]
    by_day: list[DayRow]
    by_band_day: list[BandDayRow] = Field(description="per band and day, only the days with activity")
    reads: int = Field(description="DynamoDB requests this answer cost")


class AuditQuery(Query):
    entity_id: str = Field(min_length=1, max_length=256, description="e.g. member#m_..., scenario#books, rental#r_...")
    limit: int = Field(default=100, ge=1, le=500)


class AuditEntry(Out):
    entity_id: str
    action: str
    actor: str = Field(description="who: a member id, 'admin', 'system' or 'provider:<name>'")
    at: str
    before: dict
    after: dict
    data: dict
    event_type: str | None = None


class AuditOut(Out):
    items: list[AuditEntry]


def _day(value: str | None, field: str, default: date) -> date:
    if value is None:
        return default
    try:
        if not DAY.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: expected a date YYYY-MM-DD", field) from exc


def date_range(query: MetricsQuery, today: date) -> tuple[date, date]:
    """[from, to] from the query: to defaults to today, from to 29 days before to; at most 366 days."""
    to_day = _day(query.to, "to", today)
    from_day = _day(query.from_, "from", to_day - timedelta(days=29))
    if from_day > to_day:
        raise ValidationFailed("from: must not be after to", "from")
    if (to_day - from_day).days + 1 > analytics.MAX_DAYS:
        raise ValidationFailed(f"from: the range is longer than {analytics.MAX_DAYS} days", "from")
    return from_day, to_day


@route(bp, "/v1/admin/metrics", "GET", auth="admin", query=MetricsQuery, response=MetricsOut, tag="admin")
def get_metrics(ctx: Ctx, query: MetricsQuery) -> dict:
    """Authorization rate, members, conversion, order value, bad debt and repurchase per band, scenario and day."""
    from_day, to_day = date_range(query, ctx.now.date())
    return analytics.report(ctx.deps.table, from_day, to_day)


@route(bp, "/v1/admin/audit", "GET", auth="admin", query=AuditQuery, response=AuditOut, tag="admin")
def get_audit(ctx: Ctx, query: AuditQuery) -> dict:
    """The audit log of one entity, newest first: who, what, when, before and after."""
    return {"items": audit.entries(ctx.deps.table, query.entity_id, query.limit)}


@route(bp, "/v1/openapi.json", "GET", auth="none", raw=True, tag="meta")
def get_openapi(ctx: Ctx) -> Response:
    """This API's OpenAPI 3.1 document, generated from the routes' own models."""
    return json_response(200, openapi.document())


@route(bp, "/admin", "GET", auth="none", raw=True, tag="admin")
def dashboard(ctx: Ctx) -> Response:
    """The operators' dashboard page (its data calls need the admin key, entered on the page)."""
    return Response(body=_page(), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                             "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                                        "script-src 'self' 'unsafe-inline'; img-src 'self' data:"})


@lru_cache(maxsize=1)
def _page() -> str:
    return (STATIC / "dashboard.html").read_text(encoding="utf-8")
