"""Growth counters (kept as events happen, in the transaction of the change they count): teams opened,
filled, virtually filled and failed, referrals bound and earned and the rewards paid, per score band
(services/ops/metrics.py partitions, so /v1/admin/metrics shows them per band) and per group-buy
(fill rate = full / closed teams)."""

from __future__ import annotations

from datetime import date
from typing import Any

from ...store.uow import UnitOfWork
from ..ops import metrics
from ..ops.analytics import rate

TEAM_COUNTERS = {
    "opened": "teams_opened",
    "full": "teams_full",
    "virtual_full": "teams_virtual",
    "failed": "teams_failed",
}
GROUP_BUY_LIST = "group_buys"


def group_buy_partition(gb_id: str) -> str:
    return f"groupbuy#{gb_id}"


def stage_team(uow: UnitOfWork, day: str, what: str, band: str | None, gb_id: str) -> None:
    metrics.stage_counts(uow, day, band, {TEAM_COUNTERS[what]: 1}, group_buy_partition(gb_id), group_buy_id=gb_id)


def stage_referral(uow: UnitOfWork, day: str, band: str | None, bound: int = 0, earned: int = 0, paid: int = 0) -> None:
    metrics.stage_counts(
        uow, day, band, {"referrals_bound": bound, "referrals_earned": earned, "referral_rewards_paid": paid}
    )


def group_buys(table: Any, from_day: date, to_day: date) -> list[dict]:
    """Per group-buy still listed as ending on/after `from_day`: its teams over the range and fill rate.
    One Query for the group-buys, one per group-buy for its counters."""
    a, b = from_day.isoformat(), to_day.isoformat()
    rows = []
    for gb in table.query("list_pk = :p AND list_sk >= :a", {":p": GROUP_BUY_LIST, ":a": a}, index="list"):
        days = metrics.daily(table, f"METRIC#{group_buy_partition(gb['id'])}", a, b)
        c = {name: sum(d[name] for d in days.values()) for name in TEAM_COUNTERS.values()}
        closed = c["teams_full"] + c["teams_virtual"] + c["teams_failed"]
        rows.append(
            {
                "group_buy_id": gb["id"],
                "title": gb["title"],
                **c,
                "fill_rate": rate(c["teams_full"] + c["teams_virtual"], closed),
            }
        )
    return rows
