"""Growth counters (kept as events happen, in the transaction of the change they count): teams opened,
filled, virtually filled and failed, per score band and per group-buy (fill rate = full / closed)."""
from __future__ import annotations

from ...store.uow import UnitOfWork
from ..ops import metrics

TEAM_COUNTERS = {"opened": "teams_opened", "full": "teams_full", "virtual_full": "teams_virtual",
                 "failed": "teams_failed"}


def group_buy_partition(gb_id: str) -> str:
    return f"groupbuy#{gb_id}"


def stage_team(uow: UnitOfWork, day: str, what: str, band: str | None, gb_id: str) -> None:
    metrics.stage_counts(uow, day, band, {TEAM_COUNTERS[what]: 1}, group_buy_partition(gb_id), group_buy_id=gb_id)
