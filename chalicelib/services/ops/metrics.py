"""Analytics counters, kept as events happen: the write side other features call inside their
transactions, and the bounded read helpers.

A transaction never writes a counter item itself (that would be one item every member's money
transaction writes: a hot item that makes them conflict at scale). It puts one delta item of its own;
metric_fold.py folds deltas into the counters from the table's stream, exactly once each.

Counter items (ADD updates made by the fold):
- pk "METRIC#band#<band>"       sk "<YYYY-MM-DD>#<shard>"  daily counters of one score band
                                                            ("none" = declined / no band)
- pk "METRIC#scenario#<name>"   sk "<YYYY-MM-DD>#<shard>"  daily counters of one scenario
- pk "METRIC#band#<band>"       sk "TOTAL#<shard>"         running totals: members (holding that band),
                                                            buyers (1+ orders), repeat_buyers (2+ orders)
Each counter is spread over COUNTER_SHARDS items (a random shard per fold) so that concurrent folds
rarely touch the same item; a reader sums the shards. Reading a date range is one
Query per band/scenario partition: at most days x COUNTER_SHARDS small items, whatever the order volume.

Counter attributes: auth_asked, auth_granted, decisions, rejected, reviews, orders, order_amount (fen),
first_orders, second_orders, closed, defaulted; growth: teams_opened, teams_full, teams_virtual,
teams_failed, referrals_bound, referrals_earned, referral_rewards_paid (fen).
"""

from __future__ import annotations

from typing import Any, Iterable

from ...domain.credit import BANDS
from ...store.uow import UnitOfWork
from . import metric_fold
from .metric_fold import COUNTER_SHARDS

NO_BAND = "none"
BAND_LABELS: tuple[str, ...] = tuple(f"{low}-{high}" for low, high in BANDS)
ALL_BANDS: tuple[str, ...] = (*BAND_LABELS, NO_BAND)
COUNTERS: tuple[str, ...] = (
    "auth_asked",
    "auth_granted",
    "decisions",
    "rejected",
    "reviews",
    "orders",
    "order_amount",
    "first_orders",
    "second_orders",
    "closed",
    "defaulted",
    # growth (services/growth/stats.py): group-buy teams and referrals
    "teams_opened",
    "teams_full",
    "teams_virtual",
    "teams_failed",
    "referrals_bound",
    "referrals_earned",
    "referral_rewards_paid",
)
TOTALS: tuple[str, ...] = ("members", "buyers", "repeat_buyers")
REJECTED = "rejected"
REVIEW = "review"


def band_pk(band: str | None) -> str:
    return f"METRIC#band#{band or NO_BAND}"


def scenario_pk(scenario: str) -> str:
    return f"METRIC#scenario#{scenario}"


def _daily(pk: str, day: str, add: dict[str, int], **labels: str) -> dict | None:
    """One day's counter delta of one partition (None when nothing moves)."""
    add = {k: v for k, v in add.items() if v}
    return {"pk": pk, "sk": day, "add": add, "set": {"type": "metric", "day": day, **labels}} if add else None


def _in_scenario(scenario: str | None, day: str, add: dict[str, int]) -> dict | None:
    """The scenario partition's share of a delta; none for what no scenario decided (bookings)."""
    return _daily(scenario_pk(scenario), day, add, scenario=scenario) if scenario else None


def _total(band: str | None, add: dict[str, int]) -> dict | None:
    """A running-total delta of one band (None when nothing moves)."""
    add = {k: v for k, v in add.items() if v}
    return (
        {"pk": band_pk(band), "sk": "TOTAL", "add": add, "set": {"type": "metric_total", "band": band or NO_BAND}}
        if add
        else None
    )


def _stage(uow: UnitOfWork, *deltas: dict | None) -> None:
    """One delta item of this transaction's own (no counter item every member writes): folded into the
    counters by the stream or the fold_metrics sweep (metric_fold.py), exactly once."""
    found = [d for d in deltas if d]
    if found:
        uow.put(metric_fold.delta_item(uow.now, found))


# -- write side: call these inside the transaction of the state change they count ------------------


def stage_authorization(uow: UnitOfWork, day: str, band: str | None, previous_band: str | None = None) -> None:
    """A credit authorization answered: granted with `band`, or declined (band None).
    `previous_band` is the band the member held before (moves the members-by-band gauge)."""
    moved = band and band != previous_band
    _stage(
        uow,
        _daily(band_pk(band), day, {"auth_asked": 1, "auth_granted": 1 if band else 0}, band=band or NO_BAND),
        _total(band, {"members": 1}) if moved else None,
        _total(previous_band, {"members": -1}) if moved and previous_band else None,
    )


def stage_band_left(uow: UnitOfWork, band: str | None) -> None:
    """A member's band snapshot is gone (consent withdrawn, expired): one member less in `band`."""
    if band:
        _stage(uow, _total(band, {"members": -1}))


def stage_decision(
    uow: UnitOfWork,
    day: str,
    band: str | None,
    scenario: str | None,
    outcome: str,
    amount: int,
    first_order: bool = False,
    second_order: bool = False,
) -> None:
    """A final decision on a rental, order or booking, counted once.

    outcome: "rejected", or any accepted outcome ("approved", "deposit_free", "deposit_required", ...).
    "review" only counts a review opened: call again with the final outcome when the operator decides.
    amount (fen): the order value (item value or order amount) counted when not rejected.
    first_order / second_order: this accepted order is the member's 1st / 2nd (repurchase rate).
    scenario None (a booking has none): counted in the band's partition only.
    """
    labels = {"band": band or NO_BAND}
    if outcome == REVIEW:
        _stage(
            uow,
            _daily(band_pk(band), day, {"reviews": 1}, **labels),
            _in_scenario(scenario, day, {"reviews": 1}),
        )
        return
    accepted = outcome != REJECTED
    add = {
        "decisions": 1,
        "rejected": 0 if accepted else 1,
        "orders": int(accepted),
        "order_amount": amount if accepted else 0,
        "first_orders": int(accepted and first_order),
        "second_orders": int(accepted and second_order),
    }
    _stage(
        uow,
        _daily(band_pk(band), day, add, **labels),
        _in_scenario(scenario, day, add),
        _total(band, {"buyers": int(first_order), "repeat_buyers": int(second_order)}) if accepted else None,
    )


def stage_closed(uow: UnitOfWork, day: str, band: str | None, scenario: str | None, defaulted: bool) -> None:
    """A rental/order/booking reached its end: closed normally, or defaulted (bad debt). A booking has no
    scenario: counted in its band only."""
    add = {"closed": 1, "defaulted": int(defaulted)}
    _stage(
        uow,
        _daily(band_pk(band), day, add, band=band or NO_BAND),
        _in_scenario(scenario, day, add),
    )


def stage_counts(
    uow: UnitOfWork, day: str, band: str | None, add: dict[str, int], partition: str | None = None, **labels: str
) -> None:
    """Other areas' daily counters (e.g. group-buy teams): in the band's partition and, when given, in
    METRIC#<partition> (e.g. "groupbuy#<id>") too."""
    _stage(
        uow,
        _daily(band_pk(band), day, add, band=band or NO_BAND),
        _daily(f"METRIC#{partition}", day, add, **labels) if partition else None,
    )


def credit_day_pk(month: str) -> str:
    return f"METRIC#creditday#{month}"


def stage_credit_day(uow: UnitOfWork, month: str, add: dict[str, int]) -> None:
    """The month's credit-day counts for operators: reminded, confirmed, coupons_dropped."""
    _stage(
        uow, {"pk": credit_day_pk(month), "sk": "TOTAL", "add": add, "set": {"type": "metric_total", "month": month}}
    )


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


def credit_day(table: Any, month: str) -> dict[str, int]:
    """The month's credit-day counts (summed over the counter's shards): one BatchGet."""
    found = table.batch_get([(credit_day_pk(month), f"TOTAL#{s}") for s in range(COUNTER_SHARDS)])
    return {
        name: sum(int(item.get(name, 0)) for item in found.values())
        for name in ("reminded", "confirmed", "coupons_dropped")
    }
