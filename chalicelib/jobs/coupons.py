"""drop_credit_day_coupons (monthly), start_campaigns (backstop) and the coupon-drops worker."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.marketing import campaigns, coupon_drops
from .registry import due_keys


def drop_credit_day_coupons(deps: Deps, now: datetime) -> int:
    return coupon_drops.drop_credit_day(deps, now)


def start_campaigns(deps: Deps, now: datetime) -> int:
    """Campaigns whose fan-out message was lost: fan them out now."""
    items = due_keys(deps, "campaign", now)
    deps.queues.send_many(
        coupon_drops.QUEUE, [{"type": "campaign_fanout", "campaign_id": i["campaign_id"]} for i in items]
    )
    return len(items)


def handle_drop(deps: Deps, body: dict) -> None:
    kind = body.get("type")
    if kind == "campaign_fanout":
        campaigns.fan_out(deps, body["campaign_id"], deps.clock.now())
    elif kind == "credit_day_page":
        coupon_drops.handle_page(deps, body, coupon_drops.credit_day_grant(deps, body["month"], body["tier"]))
    elif kind == "campaign_page":
        campaign = deps.table.get(*coupon_drops.campaign_key(body["campaign_id"]))
        coupon_drops.handle_page(deps, body, coupon_drops.campaign_grant(campaign) if campaign else None)
    else:
        raise ValueError(f"unknown coupon-drops message type: {kind!r}")
