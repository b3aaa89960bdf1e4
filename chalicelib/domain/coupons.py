"""Coupon rules: amounts by band and tier, validity, redemption checks (PRODUCT.md section 6)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ..clock import parse_iso
from ..config import Policy
from .credit import Tier, band_low, tier_rank
from .errors import InvalidState, NotFound, ValidationFailed


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


def upgrade_rewards(old_tier: str, new_tier: str, already: set[str], policy: Policy) -> list[tuple[str, int]]:
    """Tier upgrade rewards due when a re-authorization raises the tier: once per tier reached."""
    if tier_rank(new_tier) <= tier_rank(old_tier):
        return []
    reached = str(Tier(new_tier))
    if reached in already or reached not in policy.upgrade_reward:
        return []
    return [(reached, policy.upgrade_reward[reached])]


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
        raise ValidationFailed(f"coupon needs a minimum spend of {coupon['min_spend']} fen", "coupon_id",
                               code="coupon_min_spend_not_met")
    return min(int(coupon["amount"]), amount)
