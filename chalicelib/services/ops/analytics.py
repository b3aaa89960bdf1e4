"""The operators' metrics report: rates per band, per scenario and per day, from the daily counters.

Cost: one Query per band partition (8), one Query listing the scenarios, one Query per scenario and
one BatchGet of the running totals, whatever the number of orders behind the counters.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from . import metrics
from .metrics import ALL_BANDS, COUNTERS, ReadCounter

MAX_DAYS = 366


def rate(numerator: int, denominator: int) -> float | None:
    """A ratio rounded to 4 places; None when there is nothing to divide by."""
    return round(numerator / denominator, 4) if denominator else None


def derived(c: dict[str, int]) -> dict[str, Any]:
    """Counters plus the rates PRODUCT.md section 7 names."""
    accepted = c["decisions"] - c["rejected"]
    return {
        **c,
        "authorization_rate": rate(c["auth_granted"], c["auth_asked"]),
        "conversion": rate(accepted, c["decisions"]),
        "average_order_value": c["order_amount"] // c["orders"] if c["orders"] else None,
        "bad_debt_rate": rate(c["defaulted"], c["closed"]),
    }


def _sum(buckets: list[dict[str, int]]) -> dict[str, int]:
    out = dict.fromkeys(COUNTERS, 0)
    for b in buckets:
        for name in COUNTERS:
            out[name] += b.get(name, 0)
    return out


def days_between(from_day: date, to_day: date) -> list[str]:
    return [(from_day + timedelta(days=i)).isoformat() for i in range((to_day - from_day).days + 1)]


def scenario_names(table: Any, reads: ReadCounter) -> list[str]:
    """Every configured scenario (the `list` index, list_pk "scenario")."""
    reads.requests += 1
    return sorted(i["name"] for i in table.query("list_pk = :p", {":p": "scenario"}, index="list"))


def report(table: Any, from_day: date, to_day: date) -> dict:
    """The GET /v1/admin/metrics answer for [from_day, to_day] (inclusive)."""
    reads = ReadCounter()
    a, b = from_day.isoformat(), to_day.isoformat()
    per_band = {band: metrics.daily(table, metrics.band_pk(band), a, b, reads) for band in ALL_BANDS}
    per_scenario = {
        name: metrics.daily(table, metrics.scenario_pk(name), a, b, reads) for name in scenario_names(table, reads)
    }
    running = metrics.totals(table, ALL_BANDS, reads)
    days = days_between(from_day, to_day)

    by_band = []
    for band in ALL_BANDS:
        row = derived(_sum(list(per_band[band].values())))
        row.update(
            band=band, **running[band], repurchase_rate=rate(running[band]["repeat_buyers"], running[band]["buyers"])
        )
        by_band.append(row)
    by_scenario = [{"scenario": name, **derived(_sum(list(series.values())))} for name, series in per_scenario.items()]
    by_day = [{"day": day, **derived(_sum([per_band[band].get(day, {}) for band in ALL_BANDS]))} for day in days]

    by_band_day = [
        {"band": band, "day": day, **derived(per_band[band][day])}
        for band in ALL_BANDS
        for day in days
        if day in per_band[band]
    ]

    total = derived(_sum([row for row in by_band]))
    members = {name: sum(running[band][name] for band in ALL_BANDS) for name in metrics.TOTALS}
    total.update(members, repurchase_rate=rate(members["repeat_buyers"], members["buyers"]))
    return {
        "from": a,
        "to": b,
        "days": len(days),
        "bands": list(ALL_BANDS),
        "totals": total,
        "by_band": by_band,
        "by_scenario": by_scenario,
        "by_day": by_day,
        "by_band_day": by_band_day,
        "reads": reads.requests,
    }
