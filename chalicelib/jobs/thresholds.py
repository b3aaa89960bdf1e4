"""adjust_thresholds: daily, one message per scenario; the worker moves its threshold (at most once a day)."""

from __future__ import annotations

from datetime import datetime

from ..log import logger
from ..ports import Deps
from ..services.risk import thresholds


# Deployed daily (lambdas.py). Locally it runs more often so a moved sandbox clock is seen soon;
# `adjusted_on` makes every run after the first one of a day a no-op.
def adjust_thresholds(deps: Deps, now: datetime) -> int:
    day = now.strftime("%Y-%m-%d")
    names = thresholds.scenario_names(deps.table)
    deps.queues.send_many("thresholds", [{"scenario": n, "day": day} for n in names])
    return len(names)


def adjust_one(deps: Deps, body: dict) -> None:
    change = thresholds.adjust(deps, body["scenario"], body["day"])
    if change:
        logger.info("threshold adjusted", extra=change)
