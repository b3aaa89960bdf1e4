"""Request and response models of chalicelib/api/ops.py."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..common import Out


class Query(BaseModel):
    """Query strings: unknown parameters refused, values are text."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class DateRangeQuery(Query):
    """A range of days (the metrics report, the CSV exports)."""

    from_: str | None = Field(
        default=None,
        alias="from",
        description="First day, YYYY-MM-DD (default: to - 29 days)",
        json_schema_extra={"format": "date"},
    )
    to: str | None = Field(
        default=None,
        description="Last day, YYYY-MM-DD, inclusive (default: today, UTC)",
        json_schema_extra={"format": "date"},
    )


class MetricsQuery(DateRangeQuery):
    """GET /v1/admin/metrics."""


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


class GroupBuyRow(Out):
    group_buy_id: str
    title: str
    teams_opened: int
    teams_full: int
    teams_virtual: int
    teams_failed: int
    fill_rate: float | None = Field(description="(full + virtual_full) / closed teams")


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
    group_buys: list[GroupBuyRow] = Field(default_factory=list, description="teams per group-buy and fill rate")


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


class ReconciliationQuery(Query):
    date: str = Field(description="The day reconciled, YYYY-MM-DD (UTC)", json_schema_extra={"format": "date"})


class BillSide(Out):
    out_request_no: str
    kind: str = Field(description="charge | capture | deposit | refund")
    amount: int = Field(description="fen")


class AmountMismatch(Out):
    out_request_no: str
    kind: str
    provider_amount: int = Field(description="fen, by the provider's bill")
    our_amount: int = Field(description="fen, by our ledger")


class ProviderReconciliation(Out):
    provider: str = Field(
        description="the bill: sandbox | alipay | wechat (trade bill) | wechat_payscore (Pay Score merchant bill)"
    )
    status: str = Field(
        description="matched | mismatched | unavailable",
        json_schema_extra={"enum": ["matched", "mismatched", "unavailable"]},
    )
    matched: int = Field(description="request numbers on both sides with the same amount")
    only_provider: list[BillSide]
    only_ours: list[BillSide]
    amount_mismatch: list[AmountMismatch]
    reason: str | None = Field(default=None, description="why the bill could not be had (unavailable)")


class ReconciliationOut(Out):
    date: str
    providers: list[ProviderReconciliation]
