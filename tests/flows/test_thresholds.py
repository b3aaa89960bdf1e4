"""Dynamic thresholds: the daily job moves each scenario's threshold from its bad-debt rate (PRODUCT.md
section 5). The counters are written by real closes: rentals returned or left overdue through the API and
the jobs, with the clock moved. So that a handful of closes can be judged, these tests run with a small
policy (2 closes at least, a 50% target); tests/domain/test_decision.py checks the rule with the defaults."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, time, timedelta, timezone

import pytest

from chalicelib.services.ops import metrics
from chalicelib.services.risk import thresholds
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api, fold_metrics
from tests.rental_helpers import rent

DAY = 86400
POLICY = {"bad_debt_min_closed": 2, "bad_debt_target_bp": 5_000}  # half the target: 25%
BASES = {
    "books": 600,
    "power_bank": 600,
    "courses": 600,
    "clothing": 650,
    "digital": 650,
    "appliances": 700,
    "high_value": 700,
}
_members = itertools.count()


@pytest.fixture(autouse=True)
def small_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITFIRST_POLICY", json.dumps(POLICY))  # read when `aws` builds the settings


def _close(api: Api, closes: dict[str, tuple[int, int]]) -> str:
    """Per scenario (returned, defaulted) rentals, each by a new member, closed through the API and the
    jobs at noon of one day (returned) some days on. The scenarios are judged only once every close is in."""
    for scenario in closes:
        assert api.admin("PUT", f"/v1/admin/scenarios/{scenario}", {"auto_adjust": False})[0] == 200
    rentals = []
    for scenario, (returned, defaulted) in closes.items():
        for outcome in ["returned"] * returned + ["defaulted"] * defaulted:
            token = api.member(f"m{next(_members)}:780")
            status, out = rent(api, token, scenario=scenario, days=1)
            assert status == 201 and out["decision"] == "deposit_free", out
            rentals.append((token, out["id"], outcome))
    api.run_jobs()  # the freezes confirmed
    for token, rid, outcome in rentals:
        if outcome == "returned":
            assert api.post(f"/v1/rentals/{rid}/return", token=token)[0] == 200
    day = _noon(api, days_ahead=4)[:10]  # past every inspection window, and past due + grace
    api.run_jobs()
    for token, rid, outcome in rentals:
        rental = api.get(f"/v1/rentals/{rid}", token=token)[1]
        assert (rental["status"], rental["outcome"], rental["closed_at"][:10]) == ("closed", outcome, day), rental
    for scenario in closes:
        assert api.admin("PUT", f"/v1/admin/scenarios/{scenario}", {"auto_adjust": True})[0] == 200
    return day


def _noon(api: Api, days_ahead: int) -> str:
    """Moves the clock to noon UTC `days_ahead` days on, so later moves of hours stay on that day."""
    now = datetime.fromisoformat(api.get("/v1/sandbox/clock")[1]["now"].replace("Z", "+00:00"))
    target = datetime.combine(now.date() + timedelta(days=days_ahead), time(12), tzinfo=timezone.utc)
    return api.advance(int((target - now).total_seconds()))


def _thresholds(api: Api) -> dict[str, int]:
    return {s["name"]: s["threshold"] for s in api.admin("GET", "/v1/admin/scenarios")[1]["items"]}


def _adjustments(aws, scenario: str) -> list[dict]:
    return [
        a
        for a in aws.table.query("pk = :p", {":p": f"AUDIT#scenario#{scenario}"})
        if a["action"] == "threshold_adjusted"
    ]


def test_above_target_goes_up_a_step_once_a_day_and_is_audited(client, aws):
    api = Api(client)
    _close(api, {"books": (0, 2)})  # 100% > 50%
    processed = api.run_jobs()
    assert processed["sweep:adjust_thresholds"] == 7 and processed["thresholds"] == 7
    assert _thresholds(api) == {**BASES, "books": 610}  # only books has closes
    entries = _adjustments(aws, "books")
    assert len(entries) == 1
    assert entries[0]["before"] == {"threshold": 600} and entries[0]["after"] == {"threshold": 610}
    assert entries[0]["data"]["closed"] == 2 and entries[0]["data"]["defaults"] == 2
    assert entries[0]["event_type"] == "scenario.threshold_adjusted"
    # a rerun the same day (even hours later) does not move it twice
    api.run_jobs()
    api.advance(3 * 3600)
    api.run_jobs()
    assert _thresholds(api)["books"] == 610 and len(_adjustments(aws, "books")) == 1
    # the next day it moves again
    api.advance(DAY)
    api.run_jobs()
    assert _thresholds(api)["books"] == 620 and len(_adjustments(aws, "books")) == 2


def test_under_half_the_target_goes_down_but_never_below_the_base(client, aws):
    api = Api(client)
    assert api.admin("PUT", "/v1/admin/scenarios/digital", {"threshold": 665})[0] == 200
    _close(api, {"digital": (2, 0), "courses": (2, 0)})  # 0% < 25%; courses is already at its base
    seen = []
    for _ in range(3):
        api.run_jobs()
        seen.append(_thresholds(api)["digital"])
        api.advance(DAY)
    assert seen == [655, 650, 650]  # the medium base is 650
    assert _thresholds(api)["courses"] == 600 and _adjustments(aws, "courses") == []


def test_between_half_and_the_target_stays(client, aws):
    api = Api(client)
    _close(api, {"clothing": (1, 1), "power_bank": (3, 1)})  # exactly the target, exactly half of it
    api.run_jobs()
    assert _thresholds(api) == BASES
    assert _adjustments(aws, "clothing") == [] and _adjustments(aws, "power_bank") == []


def test_never_past_the_ceiling_of_750(client, aws):
    api = Api(client)
    api.admin("PUT", "/v1/admin/scenarios/high_value", {"threshold": 735})
    _close(api, {"high_value": (0, 2)})
    seen = []
    for _ in range(3):
        api.run_jobs()
        seen.append(_thresholds(api)["high_value"])
        api.advance(DAY)
    assert seen == [745, 750, 750] and len(_adjustments(aws, "high_value")) == 2


def test_not_at_all_under_the_minimum_of_closes(client, aws):
    api = Api(client)
    _close(api, {"appliances": (0, 1)})  # 100% of 1
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 700 and _adjustments(aws, "appliances") == []
    _close(api, {"appliances": (0, 1)})  # the 2nd close
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 710


def test_only_the_last_90_days_count(client, aws):
    api = Api(client)
    _close(api, {"books": (0, 2)})  # will be 91 days back: outside
    api.advance(DAY)
    _close(api, {"books": (2, 0), "clothing": (0, 2), "appliances": (0, 2)})  # will be the window's first day
    api.advance(89 * DAY)
    api.admin("PUT", "/v1/admin/scenarios/appliances", {"auto_adjust": False})  # judged only a day later
    api.run_jobs()
    assert _thresholds(api)["books"] == 600  # 0% over 2 (50% had the 91st day back counted)
    assert _thresholds(api)["clothing"] == 660
    api.advance(DAY)  # a day later the appliances closes have left the window
    api.admin("PUT", "/v1/admin/scenarios/appliances", {"auto_adjust": True})
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 700 and _adjustments(aws, "appliances") == []


def test_auto_adjust_off_leaves_the_threshold_alone(client, aws):
    api = Api(client)
    _close(api, {"books": (0, 2)})
    api.admin("PUT", "/v1/admin/scenarios/books", {"auto_adjust": False})
    api.run_jobs()
    assert _thresholds(api)["books"] == 600
    api.admin("PUT", "/v1/admin/scenarios/books", {"auto_adjust": True})
    api.advance(60)
    api.run_jobs()
    assert _thresholds(api)["books"] == 610


def test_one_query_per_scenario_whatever_the_volume(aws):
    """90 days of closes, written by the closing code's own writer and folded into the counters (spread
    over their shards): the job still reads one partition with one Query."""
    today = aws.clock.now()
    for first in range(0, 90, 12):  # 12 days a transaction: 96 counter updates
        uow = UnitOfWork(aws.table, datetime.now(timezone.utc), "test")
        for i in range(first, min(first + 12, 90)):
            day = (today - timedelta(days=i)).strftime("%Y-%m-%d")
            for shard in range(metrics.COUNTER_SHARDS):  # four closes a day, three of them defaults
                metrics.stage_closed(uow, day, "750-799", "books", defaulted=shard != 0)
        uow.commit()
    assert fold_metrics(aws) == 360
    calls: list[str] = []
    real = aws.table.query

    def counting(key_condition, values, **kw):
        calls.append(values.get(":p"))
        return real(key_condition, values, **kw)

    aws.table.query = counting
    change = thresholds.adjust(aws, "books", today.strftime("%Y-%m-%d"))
    assert change and change["closed"] == 360 and change["defaults"] == 270 and change["after"] == 610
    assert calls == ["METRIC#scenario#books"]
