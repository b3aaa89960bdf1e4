"""Analytics counters kept as events happen (ADD only: commutative, no condition needed).

Items: pk "METRIC#all" | "METRIC#band#<band>" | "METRIC#scenario#<name>", sk "<YYYY-MM-DD>",
so any date range is one Query per series, bounded by days, never by order volume.
"""
from __future__ import annotations

from ..store.uow import UnitOfWork


def _series(band: str | None, scenario: str | None) -> list[str]:
    out = ["all", f"band#{band or 'none'}"]
    if scenario:
        out.append(f"scenario#{scenario}")
    return out


def _add(uow: UnitOfWork, day: str, series: list[str], counters: dict[str, int]) -> None:
    for name in series:
        uow.update(f"METRIC#{name}", day, add=counters, set={"type": "metric", "series": name, "day": day})


def stage_authorization(uow: UnitOfWork, day: str, band: str | None) -> None:
    counters = {"auth_asked": 1}
    if band:
        counters["auth_granted"] = 1
    _add(uow, day, _series(band, None), counters)


def stage_decision(uow: UnitOfWork, day: str, band: str | None, scenario: str | None, outcome: str, amount: int,
                   first_order: bool = False, second_order: bool = False) -> None:
    counters = {"decisions": 1}
    if outcome != "rejected":
        counters.update(accepted=1, orders=1, order_amount=amount)
    if first_order:
        counters["buyers"] = 1
    if second_order:
        counters["repeat_buyers"] = 1
    _add(uow, day, _series(band, scenario), counters)


def stage_closed(uow: UnitOfWork, day: str, band: str | None, scenario: str | None, defaulted: bool) -> None:
    counters = {"closed": 1}
    if defaulted:
        counters["defaults"] = 1
    _add(uow, day, _series(band, scenario), counters)
