"""The demo seed: a realistic month the dashboard can draw, written once."""

from __future__ import annotations

from chalicelib.local.demo import seed_demo
from tests.helpers import Api


def test_demo_seed_fills_the_metrics_once(client, aws):
    written = seed_demo(aws)
    assert written["members"] == 360 and written["blacklisted"] > 0 and written["threshold_changes"] >= 3
    api = Api(client)
    status, out = api.admin("GET", "/v1/admin/metrics")
    assert status == 200, out
    t = out["totals"]
    assert 300 <= t["auth_asked"] <= 360 and 0.85 < t["authorization_rate"] < 1
    assert t["members"] == t["auth_granted"] and t["orders"] > 200 and 0.5 < t["conversion"] < 0.95
    assert 0 < t["bad_debt_rate"] < 0.2 and 0 < t["repurchase_rate"] < 1
    bands = {b["band"]: b for b in out["by_band"]}
    assert bands["700-749"]["members"] > bands["550-599"]["members"] > 0  # a bell around 690
    assert bands["550-599"]["conversion"] < bands["750-799"]["conversion"]
    assert sum(1 for d in out["by_day"] if d["decisions"]) >= 25
    assert seed_demo(aws) == {}  # only once per table
    status, hist = api.admin("GET", "/v1/admin/audit?entity_id=scenario%23digital")
    assert hist["items"] and hist["items"][0]["action"] == "threshold_adjusted"
    members = list(aws.table.query("list_pk = :p", {":p": "blacklist"}, index="list"))
    assert len(members) == written["blacklisted"]
