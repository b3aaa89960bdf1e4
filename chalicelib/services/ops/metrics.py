"""Analytics counters, kept as events happen: the write side other features call inside their
transactions, and the bounded read helpers.

Schema (all ADD updates: conditional-free, commutative, safe to compose into any transaction):
- pk "METRIC#band#<band>"       sk "<YYYY-MM-DD>#<shard>"  daily counters of one score band
                                                            ("none" = declined / no band)
- pk "METRIC#scenario#<name>"   sk "<YYYY-MM-DD>#<shard>"  daily counters of one scenario
- pk "METRIC#band#<band>"       sk "TOTAL#<shard>"         running totals: members (holding that band),
                                                            buyers (1+ orders), repeat_buyers (2+ orders)
Each counter is spread over COUNTER_SHARDS items (a random shard per write) so that concurrent
transactions rarely touch the same item; a reader sums the shards. Reading a date range is one
Query per band/scenario partition: at most days x COUNTER_SHARDS small items, whatever the order volume.

Counter attributes: auth_asked, auth_granted, decisions, rejected, reviews, orders, order_amount (fen),
first_orders, second_orders, closed, defaulted; growth: teams_opened, teams_full, teams_virtual,
teams_failed, referrals_bound, referrals_earned, referral_rewards_paid (fen).
"""
from __future__ import annotations

import random
from typing import Any, Iterable

from ...domain.credit import BANDS
from ...store.uow import UnitOfWork

COUNTER_SHARDS = 4
NO_BAND = "none"
BAND_LABELS: tuple[str, ...] = tuple(f"{low}-{high}" for low, high in BANDS)
ALL_BANDS: tuple[str, ...] = (*BAND_LABELS, NO_BAND)
COUNTERS: tuple[str, ...] = ("auth_asked", "auth_granted", "decisions", "rejected", "reviews", "orders",
                             "order_amount", "first_orders", "second_orders", "closed", "defaulted",
                             # growth (services/growth/stats.py): group-buy teams and referrals
                             "teams_opened", "teams_full", "teams_virtual", "teams_failed",
                             "referrals_bound", "referrals_earned", "referral_rewards_paid")
TOTALS: tuple[str, ...] = ("members", "buyers", "repeat_buyers")
REJECTED = "rejected"
REVIEW = "review"


def band_pk(band: str | None) -> str:
    return f"METRIC#band#{band or NO_BAND}"


def scenario_pk(scenario: str) -> str:
    return f"METRIC#scenario#{scenario}"


def _sk(uow: UnitOfWork, pk: str, prefix: str) -> str:
    """A random shard's sort key not yet written by this transaction (one op per item per transaction)."""
    used = {(op.body.get("Update") or {}).get("Key", {}).get("sk", {}).get("S")
            for op in uow._ops if (op.body.get("Update") or {}).get("Key", {}).get("pk", {}).get("S") == pk}
    shards = [s for s in range(COUNTER_SHARDS) if f"{prefix}#{s}" not in used]
    if not shards:
        raise ValueError(f"more than {COUNTER_SHARDS} counter updates of {pk} in one transaction")
    return f"{prefix}#{random.choice(shards)}"  # spreading only; not a secret


def _add_daily(uow: UnitOfWork, pk: str, day: str, add: dict[str, int], **labels: str) -> None:
    add = {k: v for k, v in add.items() if v}
    if add:
        uow.update(pk, _sk(uow, pk, day), add=add, set={"type": "metric", "day": day, **labels})


def _add_total(uow: UnitOfWork, band: str | None, add: dict[str, int]) -> None:
    add = {k: v for k, v in add.items() if v}
    if add:
        pk = band_pk(band)
        uow.update(pk, _sk(uow, pk, "TOTAL"), add=add, set={"type": "metric_total", "band": band or NO_BAND})


# -- write side: call these inside the transaction of the state change they count ------------------

def stage_authorization(uow: UnitOfWork, day: str, band: str | None, previous_band: str | None = None) -> None:
    """A credit authorization answered: granted with `band`, or declined (band None).
    `previous_band` is the band the member held before (moves the members-by-band gauge)."""
    _add_daily(uow, band_pk(band), day, {"auth_asked": 1, "auth_granted": 1 if band else 0}, band=band or NO_BAND)
    if band and band != previous_band:
        _add_total(uow, band, {"members": 1})
        if previous_band:
            _add_total(uow, previous_band, {"members": -1})


def stage_band_left(uow: UnitOfWork, band: str | None) -> None:
    """A member's band snapshot is gone (consent withdrawn, expired): one member less in `band`."""
    if band:
        _add_total(uow, band, {"members": -1})


def stage_decision(uow: UnitOfWork, day: str, band: str | None, scenario: str, outcome: str, amount: int,
                   first_order: bool = False, second_order: bool = False) -> None:
    """A final decision on a rental, order or booking, counted once.

    outcome: "rejected", or any accepted outcome ("approved", "deposit_free", "deposit_required", ...).
    "review" only counts a review opened: call again with the final outcome when the operator decides.
    amount (fen): the order value (item value or order amount) counted when not rejected.
    first_order / second_order: this accepted order is the member's 1st / 2nd (repurchase rate).
    """
    labels = {"band": band or NO_BAND}
    if outcome == REVIEW:
        _add_daily(uow, band_pk(band), day, {"reviews": 1}, **labels)
        _add_daily(uow, scenario_pk(scenario), day, {"reviews": 1}, scenario=scenario)
        return
    accepted = outcome != REJECTED
    add = {"decisions": 1, "rejected": 0 if accepted else 1, "orders": int(accepted),
           "order_amount": amount if accepted else 0, "first_orders": int(accepted and first_order),
           "second_orders": int(accepted and second_order)}
    _add_daily(uow, band_pk(band), day, add, **labels)
    _add_daily(uow, scenario_pk(scenario), day, add, scenario=scenario)
    if accepted:
        _add_total(uow, band, {"buyers": int(first_order), "repeat_buyers": int(second_order)})


def stage_closed(uow: UnitOfWork, day: str, band: str | None, scenario: str, defaulted: bool) -> None:
    """A rental/order/booking reached its end: closed normally, or defaulted (bad debt)."""
    add = {"closed": 1, "defaulted": int(defaulted)}
    _add_daily(uow, band_pk(band), day, add, band=band or NO_BAND)
    _add_daily(uow, scenario_pk(scenario), day, add, scenario=scenario)


def stage_counts(uow: UnitOfWork, day: str, band: str | None, add: dict[str, int], partition: str | None = None,
                 **labels: str) -> None:
    """Other areas' daily counters (e.g. group-buy teams): in the band's partition and, when given, in
    METRIC#<partition> (e.g. "groupbuy#<id>") too."""
    _add_daily(uow, band_pk(band), day, add, band=band or NO_BAND)
    if partition:
        _add_daily(uow, f"METRIC#{partition}", day, add, **labels)


# -- read side ---------------------------------------------------------------------------------------

class ReadCounter:
    """Counts DynamoDB requests made by a read (the bounded-cost figure)."""

    def __init__(self) -> None:
        self.requests = 0


def daily(table: Any, pk: str, from_day: str, to_day: str, reads: ReadCounter | None = None) -> dict[str, dict]:
    """Day -> summed counters for one partition over [from_day, to_day]: one Query (paged)."""
    out: dict[str, dict[str, int]] = {}
    items = table.query("pk = :p AND sk BETWEEN :a AND :b", {":p": pk, ":a": f"{from_day}#", ":b": f"{to_day}#~"})
    for item in items:
        day = item["sk"].split("#", 1)[0]
        bucket = out.setdefault(day, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            bucket[name] += int(item.get(name, 0))
    if reads:
        reads.requests += 1
    return out


def totals(table: Any, bands: Iterable[str], reads: ReadCounter | None = None) -> dict[str, dict[str, int]]:
    """Band -> running totals (members, buyers, repeat_buyers): one BatchGet for every band."""
    bands = list(bands)
    keys = [(band_pk(b), f"TOTAL#{s}") for b in bands for s in range(COUNTER_SHARDS)]
    found = table.batch_get(keys) if keys else {}
    if reads:
        reads.requests += 1
    out = {b: dict.fromkeys(TOTALS, 0) for b in bands}
    for (pk, _), item in found.items():
        band = pk.split("#", 2)[2]
        for name in TOTALS:
            out[band][name] += int(item.get(name, 0))
    return out


def closed_and_defaults(table: Any, scenario: str, from_day: str, to_day: str) -> tuple[int, int]:
    """(closed, defaulted) of a scenario over [from_day, to_day] inclusive: one Query.
    The threshold job calls it with the last 90 days."""
    days = daily(table, scenario_pk(scenario), from_day, to_day)
    return sum(d["closed"] for d in days.values()), sum(d["defaulted"] for d in days.values())
