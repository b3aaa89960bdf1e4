"""Risk rules: small pure functions in one registry, switchable per scenario (PRODUCT.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from .policy import Policy


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know about the member, read in the same round trip as the member."""

    band: str | None
    tier: str
    blacklisted: bool
    exposure: int
    limit: int
    order_count: int = 0
    order_total: int = 0
    recent_at: tuple[datetime, ...] = ()
    device_members: int = 0


@dataclass(frozen=True)
class Application:
    """A new rental, order or booking being decided."""

    kind: str  # rental | order | booking
    amount: int  # what the credit covers (item value, payable, price)
    now: datetime
    exposure_amount: int | None = None  # what it adds to exposure (defaults to amount)
    extra: dict = field(default_factory=dict)


Rule = Callable[[MemberFacts, Application, Policy], bool]


def velocity(m: MemberFacts, a: Application, p: Policy) -> bool:
    """This would be the member's 3rd order/rental/booking within an hour."""
    since = a.now - timedelta(minutes=p.velocity_window_minutes)
    return sum(1 for t in m.recent_at if t > since) + 1 >= p.velocity_max_orders


def shared_device(m: MemberFacts, a: Application, p: Policy) -> bool:
    """The signing-in device is used by 3 or more members."""
    return m.device_members >= p.shared_device_members


def amount_spike(m: MemberFacts, a: Application, p: Policy) -> bool:
    """Over 3x the member's average and over 1,000 yuan."""
    if m.order_count == 0:
        return False
    return a.amount * m.order_count > p.spike_multiplier * m.order_total and a.amount > p.spike_min_amount


def first_order_large(m: MemberFacts, a: Application, p: Policy) -> bool:
    """A member's very first order or rental over 2,000 yuan."""
    return m.order_count == 0 and a.amount > p.first_order_large_amount


RULES: dict[str, Rule] = {
    "velocity": velocity,
    "shared_device": shared_device,
    "amount_spike": amount_spike,
    "first_order_large": first_order_large,
}


def fired_rule(m: MemberFacts, a: Application, p: Policy, enabled: dict[str, bool] | None = None) -> str | None:
    """The first rule that fires (registry order), skipping rules switched off for the scenario."""
    for name, rule in RULES.items():
        if (enabled or {}).get(name, True) and rule(m, a, p):
            return name
    return None


def record_recent(
    recent: tuple[datetime, ...] | list[datetime], now: datetime, window_minutes: int, keep: int = 5
) -> list[datetime]:
    """The member's recent order times after one more at `now`, trimmed to the window."""
    since = now - timedelta(minutes=window_minutes)
    return sorted([t for t in recent if t > since] + [now])[-keep:]


# -- dynamic thresholds (PRODUCT.md section 5) ---------------------------------------------------


def adjusted_threshold(threshold: int, base: int, closed: int, defaults: int, p: Policy) -> int | None:
    """The scenario's new threshold from its bad-debt rate (defaults / closed), or None to keep it.

    Only with at least `bad_debt_min_closed` closed; above the target -> +step (at most the ceiling);
    under half the target -> -step (never below the risk level's base). Integer math, no float rounding.
    """
    if closed < p.bad_debt_min_closed or closed <= 0:
        return None
    rate_bp_x = defaults * 10_000  # rate in basis points, times `closed`
    if rate_bp_x > p.bad_debt_target_bp * closed:
        new = min(threshold + p.threshold_step, p.threshold_ceiling)
        return new if new > threshold else None
    if 2 * rate_bp_x < p.bad_debt_target_bp * closed:
        new = max(threshold - p.threshold_step, base)
        return new if new < threshold else None
    return None
