"""Coupon rules: amounts by band and tier, validity, redemption checks (PRODUCT.md section 6)."""

from __future__ import annotations

import calendar
from datetime import datetime, timezone
from enum import StrEnum

from ..clock import parse_iso
from .credit import Tier, band_low, tier_rank
from .errors import InvalidState, NotFound, ValidationFailed
from .policy import Policy


class CouponStatus(StrEnum):
    """Stored status; `reserved` shows as `used` until returned."""

    AVAILABLE = "available"
    RESERVED = "reserved"
    USED = "used"


def first_order_amount(band: str | None, policy: Policy) -> int:
    """First-order credit subsidy by band; none below 600."""
    if band_low(band) < 600:
        return 0
    return policy.first_order_subsidy.get(band or "", 0)


def peak_tier(tiers: list[str] | set[str]) -> str:
    """The highest of the tiers a member has ever been granted (none if none)."""
    return max((str(Tier(t)) for t in tiers), key=tier_rank, default=str(Tier.NONE))


def upgrade_rewards(peak: str, new_tier: str, first_grant: bool, policy: Policy) -> list[tuple[str, int]]:
    """Tier upgrade reward when a re-authorization raises the tier above every tier reached before.

    The first grant is not an upgrade; falling and climbing back never pays twice (once per tier reached).
    """
    if first_grant or tier_rank(new_tier) <= tier_rank(peak):
        return []
    reached = str(Tier(new_tier))
    amount = policy.upgrade_reward.get(reached, 0)
    return [(reached, amount)] if amount > 0 else []


# -- the monthly credit privilege day ---------------------------------------------------------

CREDIT_DAY_TIERS: tuple[str, ...] = (str(Tier.SILVER), str(Tier.GOLD))


def credit_day_month(now: datetime, credit_day: int) -> str | None:
    """'YYYY-MM' when `now` is on or after this month's credit day (clamped to the month), else None."""
    last = calendar.monthrange(now.year, now.month)[1]
    return now.strftime("%Y-%m") if now.day >= min(max(credit_day, 1), last) else None


def month_window(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a 'YYYY-MM' month, UTC."""
    year, mon = (int(p) for p in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=timezone.utc)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def credit_day_amount(tier: str, policy: Policy) -> int:
    """The credit-day coupon of a tier (0: the tier gets none)."""
    return policy.credit_day_coupon.get(str(tier), 0)


def budget_fit(budget: int | None, given: int, amount: int, wanted: int) -> int:
    """How many coupons of `amount` still fit in a campaign budget (all of them without a budget)."""
    if budget is None:
        return wanted
    return max(0, min(wanted, (budget - given) // amount)) if amount > 0 else wanted


def public_status(coupon: dict, now: datetime) -> str:
    """available | used | expired, as the API shows it."""
    if coupon["status"] in (CouponStatus.RESERVED, CouponStatus.USED):
        return "used"
    if parse_iso(coupon["valid_until"]) <= now:
        return "expired"
    return "available"


def check_redeemable(coupon: dict | None, member_id: str, amount: int, now: datetime) -> int:
    """The discount the coupon gives on `amount`, or a clear error naming `coupon_id`."""
    if not coupon or coupon.get("member_id") != member_id:
        raise NotFound("coupon not found", "coupon_id")
    if coupon["status"] != CouponStatus.AVAILABLE:
        raise InvalidState("coupon already used", "coupon_id", code="coupon_unavailable")
    if parse_iso(coupon["valid_from"]) > now:
        raise ValidationFailed("coupon not valid yet", "coupon_id", code="coupon_not_yet_valid")
    if parse_iso(coupon["valid_until"]) <= now:
        raise ValidationFailed("coupon expired", "coupon_id", code="coupon_expired")
    if amount < int(coupon.get("min_spend", 0)):
        raise ValidationFailed(
            f"coupon needs a minimum spend of {coupon['min_spend']} fen", "coupon_id", code="coupon_min_spend_not_met"
        )
    return discount(coupon, amount)


def discount(coupon: dict, amount: int) -> int:
    """Fixed coupons take `amount` off; percent-off coupons take percent_off% (floored), capped at
    `amount`. Never more than the price."""
    cap = int(coupon["amount"])
    pct = int(coupon.get("percent_off") or 0)
    off = amount * pct // 100 if pct else cap
    return max(0, min(off, cap, amount))
