"""`make demo`: a realistic month of activity so the dashboard shows something real on a fresh machine.

A few hundred sandbox members across the score bands, their authorizations, orders and rentals
(decisions, closings, defaults) counted in the same metrics counters the services keep, defaulters
blacklisted, and a few automatic threshold changes in the scenarios' audit history. Written straight
through the store, deterministic (seeded), and only once per table (a DEMO marker item).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from ..clock import iso
from ..domain import credit
from ..services.members import members as member_svc
from ..services.ops import metrics
from ..services.risk.scenarios import scenario_key
from ..store.dynamo import ConditionFailed
from ..store.uow import UnitOfWork

DAYS = 30
MEMBERS = 360
# Scenario -> (weight, lowest amount, highest amount) in fen.
SCENARIOS: dict[str, tuple[int, int, int]] = {
    "power_bank": (30, 500, 3_000),
    "books": (18, 3_000, 15_000),
    "courses": (8, 20_000, 120_000),
    "clothing": (16, 8_000, 60_000),
    "digital": (14, 40_000, 500_000),
    "appliances": (9, 80_000, 600_000),
    "high_value": (5, 200_000, 900_000),
}
# Band -> (reject probability, default probability, expected orders per member).
BAND_PROFILE: dict[str, tuple[float, float, float]] = {
    "0-549": (0.9, 0.14, 0.8),
    "550-599": (0.55, 0.08, 1.0),
    "600-649": (0.25, 0.045, 1.3),
    "650-699": (0.12, 0.025, 1.6),
    "700-749": (0.06, 0.012, 1.9),
    "750-799": (0.04, 0.006, 2.1),
    "800-950": (0.03, 0.003, 2.3),
}
DECLINE_RATE = 0.07


@dataclass
class _Member:
    member_id: str
    band: str | None
    authorized_at: datetime
    orders: int = 0
    total: int = 0
    on_time: int = 0
    defaults: int = 0
    open_amount: int = 0
    defaulted_at: datetime | None = None
    items: list[dict] = field(default_factory=list)


def _counters() -> defaultdict:
    return defaultdict(lambda: defaultdict(int))


def _score(rng: random.Random) -> int:
    return max(350, min(950, int(rng.gauss(690, 68))))


def _at(rng: random.Random, day: datetime, now: datetime) -> datetime:
    at = day + timedelta(seconds=rng.randrange(8 * 3600, 22 * 3600))
    return min(at, now - timedelta(minutes=1))


def _simulate(rng: random.Random, now: datetime) -> tuple[list[_Member], defaultdict, defaultdict, dict]:
    """Members and the counters their month of activity adds up to."""
    start = datetime.combine((now - timedelta(days=DAYS - 1)).date(), time(), tzinfo=timezone.utc)
    daily, totals, names = _counters(), _counters(), list(SCENARIOS)
    weights = [SCENARIOS[n][0] for n in names]
    people: list[_Member] = []
    for i in range(MEMBERS):
        declined = rng.random() < DECLINE_RATE
        band = None if declined else credit.band_of(_score(rng))
        auth_at = _at(rng, start + timedelta(days=rng.randrange(DAYS)), now)
        m = _Member(member_svc.member_id_for("sandbox", f"demo{i:03d}"), band, auth_at)
        people.append(m)
        day = auth_at.date().isoformat()
        daily[(metrics.band_pk(band), day)]["auth_asked"] += 1
        if not band:
            continue
        daily[(metrics.band_pk(band), day)]["auth_granted"] += 1
        totals[band]["members"] += 1
        reject_p, default_p, per_member = BAND_PROFILE[band]
        count = min(int(rng.expovariate(1 / per_member) + 0.5), 6)
        times = sorted(_at(rng, start + timedelta(days=rng.randrange(DAYS)), now) for _ in range(count))
        for order_at in times:
            scenario = rng.choices(names, weights)[0]
            amount = rng.randrange(SCENARIOS[scenario][1], SCENARIOS[scenario][2]) // 100 * 100
            day = order_at.date().isoformat()
            add = {"decisions": 1}
            if (m.defaulted_at and m.defaulted_at < order_at) or rng.random() < reject_p:
                add["rejected"] = 1
            else:
                add.update(
                    orders=1, order_amount=amount, first_orders=int(m.orders == 0), second_orders=int(m.orders == 1)
                )
                totals[band]["buyers"] += int(m.orders == 0)
                totals[band]["repeat_buyers"] += int(m.orders == 1)
                m.orders, m.total = m.orders + 1, m.total + amount
                _close(rng, m, band, scenario, amount, order_at, now, default_p, daily)
            for pk in (metrics.band_pk(band), metrics.scenario_pk(scenario)):
                for k, v in add.items():
                    daily[(pk, day)][k] += v
    return people, daily, totals, {"start": start}


def _close(
    rng: random.Random,
    m: _Member,
    band: str,
    scenario: str,
    amount: int,
    order_at: datetime,
    now: datetime,
    default_p: float,
    daily: defaultdict,
) -> None:
    """Most orders older than a few days have ended: on time, or in default."""
    closed_at = order_at + timedelta(days=rng.randint(1, 7), hours=rng.randint(0, 12))
    if closed_at >= now or rng.random() < 0.12:
        m.open_amount += amount
        return
    defaulted = rng.random() < default_p * 1.5  # early-ending orders carry more of the defaults
    day = closed_at.date().isoformat()
    for pk in (metrics.band_pk(band), metrics.scenario_pk(scenario)):
        daily[(pk, day)]["closed"] += 1
        daily[(pk, day)]["defaulted"] += int(defaulted)
    if defaulted:
        m.defaults += 1
        m.defaulted_at = m.defaulted_at or closed_at
    else:
        m.on_time += 1


def _member_item(m: _Member, deps: Any) -> dict:
    item: dict[str, Any] = {
        "pk": f"MEMBER#{m.member_id}",
        "sk": "MEMBER",
        "type": "member",
        "member_id": m.member_id,
        "provider": "sandbox",
        "provider_user_id": m.member_id,
        "created_at": iso(m.authorized_at),
        "last_seen_at": iso(m.authorized_at),
        "exposure": 0,
        "order_count": m.orders,
        "order_total": m.total,
        "on_time_count": m.on_time,
        "default_count": m.defaults,
        "demo": True,
    }
    if not m.band:
        item["authorization_status"] = "declined"
        return item
    item.update(
        member_svc.snapshot_writes(m.band, m.authorized_at, deps.settings.policy, m.member_id), ever_granted=True
    )
    lim = credit.credit_limit(credit.tier_of(m.band), m.on_time, deps.settings.policy.tier_limits)
    item["exposure"] = min(m.open_amount, lim)
    if m.defaulted_at:
        at = iso(m.defaulted_at)
        item.update(
            blacklisted=True,
            blacklist_reason="default",
            blacklisted_by="system",
            blacklisted_at=at,
            list_pk="blacklist",
            list_sk=f"{at}#{m.member_id}",
        )
    return item


def _threshold_history(deps: Any, rng: random.Random, start: datetime, now: datetime) -> int:
    """A few daily threshold adjustments, applied to the scenario and written to its audit log."""
    changes = 0
    for name, step_days in (("digital", 6), ("appliances", 9), ("clothing", 11)):
        item = deps.table.get(*scenario_key(name))
        if not item:
            continue
        threshold, base = int(item["threshold"]), int(item["base_threshold"])
        at = start + timedelta(days=rng.randint(1, 4), hours=2)
        while at < now:
            new = threshold + 10 if rng.random() < 0.6 or threshold == base else threshold - 10
            uow = UnitOfWork(deps.table, at, "system:adjust_thresholds")
            uow.audit(
                f"scenario#{name}",
                "threshold_adjusted",
                before={"threshold": threshold},
                after={"threshold": new},
                data={"closed": rng.randint(50, 140), "reason": "bad-debt rate"},
            )
            uow.commit()
            threshold, changes = new, changes + 1
            at += timedelta(days=step_days)
        deps.table.update(*scenario_key(name), set={"threshold": threshold})
    return changes


def seed_demo(deps: Any) -> dict:
    """Seed once per table; returns what was written (empty when the demo was already there)."""
    now = deps.clock.now()
    try:
        deps.table.put({"pk": "DEMO", "sk": "DEMO", "seeded_at": iso(now)}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return {}
    rng = random.Random(8)
    people, daily, totals, meta = _simulate(rng, now)
    deps.table.batch_write([_member_item(m, deps) for m in people])
    for (pk, day), add in daily.items():
        label = {"band": pk.split("#", 2)[2]} if pk.startswith("METRIC#band#") else {"scenario": pk.split("#", 2)[2]}
        _add(deps.table, pk, f"{day}#0", {k: v for k, v in add.items() if v}, {"type": "metric", "day": day, **label})
    for band, add in totals.items():
        _add(deps.table, metrics.band_pk(band), "TOTAL#0", dict(add), {"type": "metric_total", "band": band})
    changes = _threshold_history(deps, rng, meta["start"], now)
    return {
        "members": len(people),
        "counter_items": len(daily),
        "threshold_changes": changes,
        "blacklisted": sum(1 for m in people if m.defaulted_at),
    }


def _add(table: Any, pk: str, sk: str, add: dict[str, int], labels: dict[str, str]) -> None:
    """ADD onto whatever counters are there (never overwrites real activity)."""
    if not add:
        return
    table.update(pk, sk, set=labels, add=add)
