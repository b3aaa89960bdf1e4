"""Credit bands, tiers, benefits and credit limits (PRODUCT.md section 1 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

BANDS: tuple[tuple[int, int], ...] = (
    (0, 549),
    (550, 599),
    (600, 649),
    (650, 699),
    (700, 749),
    (750, 799),
    (800, 950),
)
BAND_EDGES: tuple[int, ...] = tuple(low for low, _ in BANDS[1:])  # 550, 600, ... 800


class Tier(StrEnum):
    """Member tier, from the score band."""

    NONE = "none"
    NORMAL = "normal"
    SILVER = "silver"
    GOLD = "gold"


TIER_ORDER = (Tier.NONE, Tier.NORMAL, Tier.SILVER, Tier.GOLD)

BENEFITS: dict[Tier, tuple[str, ...]] = {
    Tier.NONE: (),
    Tier.NORMAL: ("member_discount_2pct", "basic_service"),
    Tier.SILVER: ("priority_shipping", "dedicated_support", "birthday_gift"),
    Tier.GOLD: ("free_shipping", "priority_returns", "annual_gift_pack", "exclusive_events"),
}


def band_of(score: int) -> str:
    """The 50-point band label a score falls in; the score itself is never kept."""
    for low, high in BANDS:
        if low <= score <= high:
            return f"{low}-{high}"
    if score > BANDS[-1][1]:
        return f"{BANDS[-1][0]}-{BANDS[-1][1]}"
    return f"{BANDS[0][0]}-{BANDS[0][1]}"


def band_low(band: str | None) -> int:
    """Lower edge of a band label; no band counts as 0."""
    return int(band.split("-")[0]) if band else 0


def tier_of(band: str | None) -> Tier:
    """Tier from band: under 650 none, 650-699 normal, 700-749 silver, 750+ gold."""
    low = band_low(band)
    if low >= 750:
        return Tier.GOLD
    if low >= 700:
        return Tier.SILVER
    if low >= 650:
        return Tier.NORMAL
    return Tier.NONE


def benefits_of(tier: Tier | str) -> list[str]:
    return list(BENEFITS[Tier(tier)])


def credit_limit(
    tier: Tier | str, on_time_count: int, tier_limits: dict[str, int], raise_pct: int = 10, max_multiplier: int = 2
) -> int:
    """Tier base limit raised raise_pct% per on-time completion, capped at max_multiplier x (fen, floored)."""
    base = tier_limits[str(Tier(tier))]
    pct = min(100 + raise_pct * max(on_time_count, 0), 100 * max_multiplier)
    return base * pct // 100


def tier_rank(tier: Tier | str) -> int:
    return TIER_ORDER.index(Tier(tier))


def find_band(is_at_least: Callable[[int], bool]) -> str:
    """Binary search over band edges with an 'at or above X?' oracle: at most 3 questions."""
    lo, hi = 0, len(BAND_EDGES)  # answer: count of edges passed, in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if is_at_least(BAND_EDGES[mid - 1]):
            lo = mid
        else:
            hi = mid - 1
    return BANDS[lo][0].__str__() + "-" + str(BANDS[lo][1])
