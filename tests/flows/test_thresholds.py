"""Dynamic thresholds: the daily job moves each scenario's threshold from its bad-debt rate, with the clock
moved and synthetic closed-object counters (PRODUCT.md section 5)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.services.risk import thresholds
from tests.helpers import Api

DAY = 86400


def _today(api: Api) -> datetime:
    status, out = api.get("/v1/sandbox/clock")
    assert status == 200
    return datetime.fromisoformat(out["now"].replace("Z", "+00:00"))


def _closed(aws, scenario: str, day: datetime, closed: int, defaults: int, sharded: bool = False) -> None:
    """Counters as the closing rentals/orders keep them (both layouts: per day, or day-sharded)."""
    d = day.strftime("%Y-%m-%d")
    if sharded:
        aws.table.put({"pk": f"METRIC#scenario#{scenario}", "sk": f"{d}#1", "type": "metric", "day": d,
                       "closed": closed, "defaulted": defaults})
    else:
        aws.table.put({"pk": f"METRIC#scenario#{scenario}", "sk": d, "type": "metric", "day": d,
                       "closed": closed, "defaults": defaults})


def _spread(aws, scenario: str, today: datetime, closed: int, defaults: int, days: int = 10) -> None:
    """`closed` closings with `defaults` defaults spread over the `days` days up to today."""
    for i in range(days):
        c = closed // days + (1 if i < closed % days else 0)
        d = defaults // days + (1 if i < defaults % days else 0)
        _closed(aws, scenario, today - timedelta(days=i), c, d)


def _thresholds(api: Api) -> dict[str, int]:
    return {s["name"]: s["threshold"] for s in api.admin("GET", "/v1/admin/scenarios")[1]["items"]}


def _adjustments(aws, scenario: str) -> list[dict]:
    return [a for a in aws.table.query("pk = :p", {":p": f"AUDIT#scenario#{scenario}"})
            if a["action"] == "threshold_adjusted"]


def test_above_target_goes_up_10_once_a_day_and_is_audited(client, aws):
    api = Api(client)
    today = _today(api)
    _spread(aws, "books", today, closed=100, defaults=3)  # 3% > 2%
    processed = api.run_jobs()
    assert processed["sweep:adjust_thresholds"] == 7 and processed["thresholds"] == 7
    before = {"books": 610, "power_bank": 600, "courses": 600, "clothing": 650, "digital": 650,
              "appliances": 700, "high_value": 700}
    assert _thresholds(api) == before  # only books has data
    entries = _adjustments(aws, "books")
    assert len(entries) == 1
    assert entries[0]["before"] == {"threshold": 600} and entries[0]["after"] == {"threshold": 610}
    assert entries[0]["data"]["closed"] == 100 and entries[0]["data"]["defaults"] == 3
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
    today = _today(api)
    _spread(aws, "digital", today, closed=400, defaults=3)  # 0.75% < 1%
    _spread(aws, "courses", today, closed=400, defaults=0)  # already at its base
    seen = []
    for _ in range(3):
        api.run_jobs()
        seen.append(_thresholds(api)["digital"])
        api.advance(DAY)
    assert seen == [655, 650, 650]  # the medium base is 650
    assert _thresholds(api)["courses"] == 600 and _adjustments(aws, "courses") == []


def test_between_half_and_the_target_stays(client, aws):
    api = Api(client)
    _spread(aws, "clothing", _today(api), closed=100, defaults=2)  # exactly 2%
    _spread(aws, "power_bank", _today(api), closed=100, defaults=1)  # exactly 1%
    api.run_jobs()
    assert _thresholds(api)["clothing"] == 650 and _thresholds(api)["power_bank"] == 600


def test_never_past_the_ceiling_of_750(client, aws):
    api = Api(client)
    api.admin("PUT", "/v1/admin/scenarios/high_value", {"threshold": 735})
    _spread(aws, "high_value", _today(api), closed=60, defaults=30)
    seen = []
    for _ in range(3):
        api.run_jobs()
        seen.append(_thresholds(api)["high_value"])
        api.advance(DAY)
    assert seen == [745, 750, 750] and len(_adjustments(aws, "high_value")) == 2


def test_not_at_all_under_50_closed(client, aws):
    api = Api(client)
    _spread(aws, "appliances", _today(api), closed=49, defaults=49)
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 700 and _adjustments(aws, "appliances") == []
    _closed(aws, "appliances", _today(api) - timedelta(days=30), 1, 0)  # the 50th closing
    api.advance(DAY)
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 710


def test_only_the_last_90_days_count(client, aws):
    api = Api(client)
    today = _today(api)
    _closed(aws, "books", today - timedelta(days=90), 500, 100)  # the 91st day back: outside
    _closed(aws, "books", today - timedelta(days=89), 60, 0)
    _closed(aws, "clothing", today - timedelta(days=89), 60, 6)  # the window's first day counts
    _closed(aws, "appliances", today - timedelta(days=89), 60, 6)
    api.admin("PUT", "/v1/admin/scenarios/appliances", {"auto_adjust": False})  # judged only tomorrow
    api.run_jobs()
    assert _thresholds(api)["books"] == 600  # 0% over 60 (17.9% had the 91st day counted)
    assert _thresholds(api)["clothing"] == 660
    api.advance(DAY)  # a day later the appliances counters have left the window
    api.admin("PUT", "/v1/admin/scenarios/appliances", {"auto_adjust": True})
    api.run_jobs()
    assert _thresholds(api)["appliances"] == 700 and _adjustments(aws, "appliances") == []


def test_auto_adjust_off_leaves_the_threshold_alone(client, aws):
    api = Api(client)
    api.admin("PUT", "/v1/admin/scenarios/books", {"auto_adjust": False})
    _spread(aws, "books", _today(api), closed=100, defaults=10)
    api.run_jobs()
    assert _thresholds(api)["books"] == 600
    api.admin("PUT", "/v1/admin/scenarios/books", {"auto_adjust": True})
    api.advance(60)
    api.run_jobs()
    assert _thresholds(api)["books"] == 610


def test_day_sharded_counters_are_read_too(client, aws):
    api = Api(client)
    today = _today(api)
    for i in range(5):
        _closed(aws, "digital", today - timedelta(days=i), 20, 1, sharded=True)  # 5% over 100
    api.run_jobs()
    assert _thresholds(api)["digital"] == 660


def test_one_query_per_scenario_whatever_the_volume(aws):
    today = aws.clock.now()
    for i in range(90):
        _closed(aws, "books", today - timedelta(days=i), 1000, 30)
    calls: list[str] = []
    real = aws.table.query

    def counting(key_condition, values, **kw):
        calls.append(values.get(":p"))
        return real(key_condition, values, **kw)

    aws.table.query = counting
    change = thresholds.adjust(aws, "books", today.strftime("%Y-%m-%d"))
    assert change and change["closed"] == 90_000 and change["defaults"] == 2_700 and change["after"] == 610
    assert calls == ["METRIC#scenario#books"]
