"""Dynamic thresholds: once a day, each scenario's threshold follows its bad-debt rate (PRODUCT.md 5).

The rate comes from the per-day counters that closing rentals, orders and bookings keep
(metrics.stage_closed): one Query per scenario over the last 90 days, whatever the order volume. The write
is guarded on the threshold that was read and on `adjusted_on` (the day), so a rerun on the same day never
moves it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...clock import iso
from ...domain.risk import adjusted_threshold
from ...ports import Deps
from ...store.uow import Retry, UnitOfWork
from ..ops.metrics import closed_and_defaults
from .scenarios import scenario_key


def scenario_names(table: Any) -> list[str]:
    """Every scenario's name: one Query on the `list` index."""
    return [i["name"] for i in table.query("list_pk = :p", {":p": "scenario"}, index="list")]


def window(day: str, days: int) -> tuple[str, str]:
    """The `days` days ending with `day` (inclusive), as sort-key bounds."""
    end = datetime.strptime(day, "%Y-%m-%d")
    return (end - timedelta(days=days - 1)).strftime("%Y-%m-%d"), day


def adjust(deps: Deps, name: str, day: str) -> dict | None:
    """Adjust one scenario for `day`; returns the change made (None: nothing to do)."""
    policy = deps.settings.policy
    for _ in range(3):
        item = deps.table.get(*scenario_key(name))
        if not item or not item.get("auto_adjust", True) or item.get("adjusted_on") == day:
            return None
        closed, defaults = closed_and_defaults(deps.table, name, *window(day, policy.bad_debt_window_days))
        old = int(item["threshold"])
        base = int(item.get("base_threshold") or policy.risk_thresholds[item["risk_level"]])
        new = adjusted_threshold(old, base, closed, defaults, policy)
        if new is None:
            return None
        uow = UnitOfWork(deps.table, deps.clock.now(), "system:adjust_thresholds", deps.queues.send)
        uow.update(
            *scenario_key(name),
            set={"threshold": new, "adjusted_on": day, "updated_at": iso(uow.now)},
            add={"version": 1},
            condition="threshold = :old AND auto_adjust = :on AND "
            "(attribute_not_exists(adjusted_on) OR adjusted_on <> :day)",
            values={":old": old, ":on": True, ":day": day},
            on_fail=Retry,
        )
        data = {"closed": closed, "defaults": defaults, "day": day, "bad_debt_rate_bp": defaults * 10_000 // closed}
        uow.audit(
            f"scenario#{name}",
            "threshold_adjusted",
            before={"threshold": old},
            after={"threshold": new},
            event="scenario.threshold_adjusted",
            data=data,
        )
        try:
            uow.commit()
        except Retry:
            continue  # changed meanwhile (an operator, or a concurrent run): re-read and decide again
        return {"scenario": name, "before": old, "after": new, **data}
    return None
