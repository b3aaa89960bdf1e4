"""Operator campaigns: a coupon for every member of a tier, within an optional budget.

Creating one writes the campaign (with a backstop timer) and sends a fan-out message after the
commit; the fan-out Queries the tier through the `group` index and hands batches to the same worker
as the credit day. If the fan-out message is lost, the `start_campaigns` sweep finds the timer.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from ...clock import iso
from ...domain.campaigns import CampaignStatus, transition
from ...domain.errors import DomainError, ValidationFailed
from ...ports import Deps
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import Retry, UnitOfWork
from .coupon_drops import QUEUE, campaign_key, page_messages

FANOUT_BACKSTOP_MINUTES = 5


def create(
    uow: UnitOfWork,
    tier: str,
    amount: int,
    min_spend: int,
    valid_days: int,
    budget: int | None,
    percent_off: int | None = None,
) -> dict:
    """Stage the campaign and its fan-out; returns the API view. With `percent_off`, `amount` is the
    cap of each coupon, and the budget counts caps (the most a coupon can give)."""
    if budget is not None and budget < amount:
        raise ValidationFailed("budget must cover at least one coupon (budget >= amount)", "budget")
    cid = "cmp_" + secrets.token_hex(8)
    now = uow.now
    item = {
        "pk": campaign_key(cid)[0],
        "sk": "CAMPAIGN",
        "type": "campaign",
        "campaign_id": cid,
        "tier": tier,
        "amount": amount,
        "min_spend": min_spend,
        "valid_days": valid_days,
        "budget": budget,
        "percent_off": percent_off,
        "valid_from": iso(now),
        "valid_until": iso(now + timedelta(days=valid_days)),
        "given": 0,
        "issued": 0,
        "status": str(CampaignStatus.ISSUING),
        "created_at": iso(now),
        "created_by": uow.actor,
        "due_pk": f"timer#campaign#{shard_of(cid)}",
        "due_at": iso(now + timedelta(minutes=FANOUT_BACKSTOP_MINUTES)),
    }
    uow.put(item, condition="attribute_not_exists(pk)")
    uow.audit(f"campaign#{cid}", "created", after=view(item), event="campaign.created")
    uow.send(QUEUE, {"type": "campaign_fanout", "campaign_id": cid})
    return view(item)


def view(item: dict) -> dict:
    keys = (
        "tier",
        "amount",
        "percent_off",
        "min_spend",
        "valid_days",
        "budget",
        "valid_from",
        "valid_until",
        "given",
        "issued",
        "status",
        "created_at",
    )
    return {"id": item["campaign_id"], **{k: item.get(k) for k in keys}}


def fan_out(deps: Deps, campaign_id: str, now: datetime) -> int:
    """Send the first page of every shard of the tier's members to the worker; once sent, clear the backstop timer."""
    campaign = deps.table.get(*campaign_key(campaign_id))
    if not campaign or "due_pk" not in campaign:
        return 0  # unknown, or already fanned out
    pages = page_messages({"type": "campaign_page", "campaign_id": campaign_id}, campaign["tier"])
    deps.queues.send_many(QUEUE, pages)
    count = len(pages)
    uow = UnitOfWork(deps.table, now, "system")
    issued = transition(campaign.get("status", CampaignStatus.ISSUING), CampaignStatus.ISSUED)
    uow.update(
        *campaign_key(campaign_id),
        set={"status": str(issued), "pages": count},
        remove=["due_pk", "due_at"],
        **expect({"status": CampaignStatus.ISSUING}, also="attribute_exists(due_pk)"),
    )
    uow.audit(f"campaign#{campaign_id}", "fanned_out", data={"pages": count})
    try:
        uow.commit()
    except (Retry, DomainError):  # a concurrent fan-out finished first; its batches and ours dedupe in the worker
        return 0
    return count
