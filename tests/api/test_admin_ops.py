"""Admin operations: the metrics report from the counters, the audit log, admin auth."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import pytest

from chalicelib.services.ops import analytics, metrics
from chalicelib.services.risk import thresholds
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api, fold_metrics

DAY1, DAY2 = "2026-03-01", "2026-03-02"
SILVER = "700-749"


def _stage(aws, fn, *args, **kw):
    uow = UnitOfWork(aws.table, datetime(2026, 3, 1, tzinfo=timezone.utc), "test")
    fn(uow, *args, **kw)
    uow.commit()


def _synthetic(aws):
    """Two granted and one declined authorization; 4 decisions (1 rejected); 4 closed, 1 defaulted."""
    _stage(aws, metrics.stage_authorization, DAY1, SILVER)
    _stage(aws, metrics.stage_authorization, DAY1, SILVER)
    _stage(aws, metrics.stage_authorization, DAY2, None)
    _stage(aws, metrics.stage_decision, DAY1, SILVER, "books", "approved", 1_000, first_order=True)
    _stage(aws, metrics.stage_decision, DAY1, SILVER, "books", "deposit_free", 2_000, first_order=True)
    _stage(aws, metrics.stage_decision, DAY2, SILVER, "digital", "approved", 3_001, second_order=True)
    _stage(aws, metrics.stage_decision, DAY2, SILVER, "digital", "rejected", 9_999)
    _stage(aws, metrics.stage_decision, DAY2, SILVER, "digital", "review", 5_000)
    for defaulted in (False, False, False, True):
        _stage(aws, metrics.stage_closed, DAY2, SILVER, "books", defaulted)
    assert fold_metrics(aws) == 12  # every staged delta folded into the counters once


def test_metrics_math_on_synthetic_counters(client, aws):
    _synthetic(aws)
    status, out = Api(client).admin("GET", f"/v1/admin/metrics?from={DAY1}&to=2026-03-03")
    assert status == 200, out
    t = out["totals"]
    assert (t["auth_asked"], t["auth_granted"], t["authorization_rate"]) == (3, 2, 0.6667)
    assert (t["decisions"], t["rejected"], t["conversion"], t["reviews"]) == (4, 1, 0.75, 1)
    assert (t["orders"], t["order_amount"], t["average_order_value"]) == (3, 6_001, 2_000)  # floored fen
    assert (t["closed"], t["defaulted"], t["bad_debt_rate"]) == (4, 1, 0.25)
    assert (t["members"], t["buyers"], t["repeat_buyers"], t["repurchase_rate"]) == (2, 2, 1, 0.5)

    band = {row["band"]: row for row in out["by_band"]}
    assert band[SILVER]["members"] == 2 and band[SILVER]["bad_debt_rate"] == 0.25
    assert band["none"]["auth_asked"] == 1 and band["none"]["authorization_rate"] == 0.0
    assert band["800-950"]["conversion"] is None and band["800-950"]["members"] == 0
    assert out["bands"] == ["0-549", "550-599", "600-649", "650-699", "700-749", "750-799", "800-950", "none"]

    scen = {row["scenario"]: row for row in out["by_scenario"]}
    assert (scen["books"]["closed"], scen["books"]["defaulted"], scen["books"]["bad_debt_rate"]) == (4, 1, 0.25)
    assert (scen["digital"]["decisions"], scen["digital"]["conversion"]) == (2, 0.5)
    assert scen["high_value"]["decisions"] == 0 and scen["high_value"]["bad_debt_rate"] is None

    days = {row["day"]: row for row in out["by_day"]}
    assert list(days) == [DAY1, DAY2, "2026-03-03"] and out["days"] == 3
    assert (days[DAY1]["decisions"], days[DAY1]["average_order_value"], days[DAY1]["authorization_rate"]) == (
        2,
        1_500,
        1.0,
    )
    assert (days[DAY2]["conversion"], days[DAY2]["closed"], days[DAY2]["auth_asked"]) == (0.5, 4, 1)
    assert days["2026-03-03"]["decisions"] == 0 and days["2026-03-03"]["conversion"] is None

    cells = {(row["band"], row["day"]): row for row in out["by_band_day"]}
    assert set(cells) == {(SILVER, DAY1), (SILVER, DAY2), ("none", DAY2)}  # sparse: only days with activity
    assert (cells[(SILVER, DAY2)]["conversion"], cells[(SILVER, DAY2)]["reviews"]) == (0.5, 1)
    assert cells[("none", DAY2)]["authorization_rate"] == 0.0

    status, narrow = Api(client).admin("GET", f"/v1/admin/metrics?from={DAY2}&to={DAY2}")
    assert narrow["totals"]["decisions"] == 2 and narrow["totals"]["auth_granted"] == 0


def test_the_threshold_job_judges_the_closes_the_counters_hold(aws, monkeypatch):
    """adjust_thresholds' worker reads the closes and defaults that closing code stages, per scenario and
    within its window; decisions and reviews are no closes."""
    _synthetic(aws)  # books: 4 closed on DAY2, 1 defaulted (25% > 2%); digital: decisions only
    policy = dataclasses.replace(aws.settings.policy, bad_debt_min_closed=4)
    monkeypatch.setattr(aws, "settings", dataclasses.replace(aws.settings, policy=policy))
    assert thresholds.adjust(aws, "books", DAY1) is None  # the day before the closes: nothing to judge
    assert thresholds.adjust(aws, "digital", DAY2) is None
    change = thresholds.adjust(aws, "books", DAY2)
    assert change and (change["closed"], change["defaults"], change["before"], change["after"]) == (4, 1, 600, 610)


def test_several_counters_of_one_partition_in_one_transaction(aws):
    uow = UnitOfWork(aws.table, datetime(2026, 3, 1, tzinfo=timezone.utc), "test")
    metrics.stage_decision(uow, DAY1, SILVER, "books", "approved", 100)
    metrics.stage_closed(uow, DAY1, SILVER, "books", True)
    metrics.stage_closed(uow, DAY1, SILVER, "books", False)
    uow.commit()  # one delta item per stage: never two operations on one item
    assert fold_metrics(aws) == 3
    assert metrics.closed_and_defaults(aws.table, "books", DAY1, DAY1) == (2, 1)


class CountingTable:
    """The real table, counting the requests made to it."""

    def __init__(self, table):
        self.table, self.calls = table, 0

    def query(self, *a, **kw):
        self.calls += 1
        return self.table.query(*a, **kw)

    def batch_get(self, *a, **kw):
        self.calls += 1
        return self.table.batch_get(*a, **kw)


def test_a_90_day_report_costs_the_same_reads_whatever_the_volume(aws):
    def cost():
        counting = CountingTable(aws.table)
        out = analytics.report(counting, date(2026, 1, 1), date(2026, 3, 31))
        return counting.calls, out

    before, _ = cost()
    for i in range(60):  # sixty more orders on one day
        _stage(aws, metrics.stage_decision, DAY1, SILVER, "books", "approved", 1_000 + i)
    fold_metrics(aws)
    after, out = cost()
    assert (
        before == after == out["reads"] <= 1 + len(metrics.ALL_BANDS) + 1 + 7
    )  # bands, scenario list, totals, scenarios
    assert out["totals"]["orders"] == 60 and len(out["by_day"]) == 90


def test_authorizations_move_the_members_by_band_gauge(client, aws):
    api = Api(client)
    ann = api.member("ann:720")
    api.member("bob:760")
    today = datetime.now(timezone.utc).date().isoformat()

    def members():
        fold_metrics(aws)  # what the table's stream does within seconds
        status, out = api.admin("GET", f"/v1/admin/metrics?from={today}&to={today}")
        assert status == 200, out
        return {row["band"]: row["members"] for row in out["by_band"] if row["members"]}, out["totals"]

    gauge, totals = members()
    assert gauge == {"700-749": 1, "750-799": 1} and totals["auth_asked"] == 2 and totals["authorization_rate"] == 1.0
    api.post("/v1/credit/authorizations", {}, token=ann)  # the same band again: still one member
    assert members()[0] == {"700-749": 1, "750-799": 1}
    assert api.delete("/v1/credit/authorization", token=ann)[0] == 204
    assert api.delete("/v1/credit/authorization", token=ann)[0] == 204  # twice: counted once
    gauge, totals = members()
    assert gauge == {"750-799": 1} and totals["auth_asked"] == 3


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("from=2026-01-01&to=tomorrow", "to"),
        ("from=20260101&to=2026-01-02", "from"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2025-01-01&to=2026-01-02", "from"),
        ("from=2026-01-01&to=2026-01-02&band=x", "band"),
    ],
)
def test_bad_ranges_are_400_naming_the_field(client, query, field):
    status, out = Api(client).admin("GET", f"/v1/admin/metrics?{query}")
    assert status == 400 and out["error"]["code"] == "validation_error" and out["error"]["field"] == field, out


def test_a_366_day_range_is_allowed_and_the_default_is_30_days(client):
    api = Api(client)
    status, out = api.admin("GET", "/v1/admin/metrics?from=2024-01-01&to=2024-12-31")
    assert status == 200 and out["days"] == 366
    status, out = api.admin("GET", "/v1/admin/metrics")
    assert status == 200 and out["days"] == 30 and out["to"] == datetime.now(timezone.utc).date().isoformat()


def test_audit_lists_who_what_when_before_after_newest_first(client):
    api = Api(client)
    token = api.member("cat:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    api.delete("/v1/credit/authorization", token=token)
    status, out = api.admin("GET", f"/v1/admin/audit?entity_id=member%23{member_id}")
    assert status == 200, out
    actions = [e["action"] for e in out["items"]]
    assert actions == ["consent_withdrawn", "credit_granted"]
    granted = out["items"][1]
    assert granted["actor"] == member_id and granted["entity_id"] == f"member#{member_id}"
    assert granted["before"] == {"tier": "none"} and granted["after"] == {"band": "700-749", "tier": "silver"}
    assert granted["event_type"] == "credit.granted" and granted["at"].endswith("Z")
    assert out["items"][0]["at"] >= granted["at"]
    status, one = api.admin("GET", f"/v1/admin/audit?entity_id=member%23{member_id}&limit=1")
    assert [e["action"] for e in one["items"]] == ["consent_withdrawn"]
    assert api.admin("GET", "/v1/admin/audit?entity_id=nobody")[1] == {"items": []}


@pytest.mark.parametrize(
    "query, field",
    [
        ("", "entity_id"),
        ("entity_id=", "entity_id"),
        ("entity_id=x&limit=0", "limit"),
        ("entity_id=x&limit=many", "limit"),
    ],
)
def test_audit_bad_input_names_the_field(client, query, field):
    status, out = Api(client).admin("GET", f"/v1/admin/audit?{query}")
    assert status == 400 and out["error"]["field"] == field, out


@pytest.mark.parametrize("path", ["/v1/admin/metrics", "/v1/admin/audit?entity_id=x"])
def test_admin_routes_need_the_operator_key(client, path):
    api = Api(client)
    status, out = api.get(path)
    assert status == 401 and out["error"]["code"] == "unauthenticated"
    status, out = api.get(path, token="wrong-key")
    assert status == 401
    member = api.sign_in("dan:700")
    status, out = api.get(path, token=member)
    assert status == 403 and out["error"]["code"] == "forbidden"


def test_the_dashboard_page_is_served_as_html(client):
    r = client.http.get("/admin")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    page = r.body.decode()
    assert (
        "sessionStorage" in page
        and "/v1/admin/metrics" in page
        and "http://" not in page.replace("http://www.w3.org", "")
    )


def test_an_expired_snapshot_leaves_the_members_gauge(client, aws):
    api = Api(client)
    api.member("fay:810")

    def gauge():
        fold_metrics(aws)  # what the table's stream does within seconds
        out = api.admin("GET", "/v1/admin/metrics")[1]
        return {row["band"]: row["members"] for row in out["by_band"] if row["members"]}

    assert gauge() == {"800-950": 1}
    api.advance(31 * 24 * 3600)
    api.run_jobs()
    assert gauge() == {}
    api.run_jobs()  # the expiry worker is idempotent: no second decrement
    assert gauge() == {}
