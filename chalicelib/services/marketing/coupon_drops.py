"""Coupon drops: the monthly credit day and operator campaigns, to every member of a tier, in batches.

Sweep/fan-out: Query the sparse `group` index per shard (no Scan) and send member ids in batches of
BATCH to `coupon-drops`. Worker: one batch -> a BatchGetItem to skip coupons already there, then
TransactWriteItems of up to PER_TRANSACTION conditional puts (attribute_not_exists) plus one audit
entry (the batch's outbox event) and, for a campaign, the budget counter. Coupon ids are
deterministic, so a job run twice or a batch delivered twice issues nothing new, and a coupon already
reserved or used is never rewritten (a blind BatchWriteItem could reset it to available).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from ...clock import iso, parse_iso
from ...domain import coupons as rules
from ...domain.errors import DomainError
from ...ports import Deps
from ...store.schema import SHARDS
from ...store.uow import Retry, UnitOfWork
from .coupons import coupon_id, coupon_item, coupon_key

QUEUE = "coupon-drops"
BATCH = 96              # member ids per queue message (a multiple of PER_TRANSACTION)
PER_TRANSACTION = 24    # coupons per TransactWriteItems: 25 items with the audit (moto's cap; DynamoDB allows 100)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Grant:
    """What one coupon of a drop looks like; `ref` makes the ids (month or campaign id)."""

    kind: str
    ref: str
    amount: int
    min_spend: int
    valid_from: datetime
    valid_until: datetime
    campaign_id: str | None = None
    budget: int | None = None
    percent_off: int | None = None  # percent-off coupons: `amount` is the cap (and what the budget counts)

    def coupon_id(self, member_id: str) -> str:
        return coupon_id(self.kind, member_id, self.ref)

    def item(self, member_id: str) -> dict:
        extra = {k: v for k, v in (("campaign_id", self.campaign_id), ("percent_off", self.percent_off)) if v}
        return coupon_item(self.coupon_id(member_id), member_id, self.kind, self.amount, self.min_spend,
                           self.valid_from, self.valid_until, drop=f"{self.kind}#{self.ref}", **extra)


# -- finding members ------------------------------------------------------------------------

def tier_members(deps: Deps, tier: str, now: datetime) -> Iterator[str]:
    """Member ids of a tier with a live snapshot, not blacklisted: one paged Query per shard."""
    for shard in range(SHARDS):
        for m in deps.table.query("group_pk = :p", {":p": f"tier#{tier}#{shard}"}, index="group"):
            expires = m.get("authorization_expires_at")
            if expires and parse_iso(expires) > now and not m.get("blacklisted"):
                yield m["member_id"]


def enqueue_tier(deps: Deps, tier: str, now: datetime, message: Callable[[list[str]], dict]) -> int:
    """Send the tier's members to the queue, BATCH ids a message (10 messages a SendMessageBatch)."""
    bodies, chunk, count = [], [], 0
    for member_id in tier_members(deps, tier, now):
        chunk.append(member_id)
        count += 1
        if len(chunk) == BATCH:
            bodies.append(message(chunk))
            chunk = []
    if chunk:
        bodies.append(message(chunk))
    deps.queues.send_many(QUEUE, bodies)
    return count


# -- the credit day -------------------------------------------------------------------------

def drop_key(month: str) -> tuple[str, str]:
    return f"DROP#credit_day#{month}", "DROP"


def credit_day_stats_key(month: str) -> tuple[str, str]:
    """The month's credit-day counters: coupons_dropped here, reminded and confirmed (services/growth)."""
    return f"CREDITDAY#{month}", "STATS"


def drop_credit_day(deps: Deps, now: datetime, force: bool = False) -> int:
    """On/after the month's credit day, once a month: every silver and gold member to the queue.

    Before the day: nothing. After this month's drop is recorded: one GetItem. A crash before the
    record means the next run sends everyone again, which the worker makes harmless.
    """
    month = rules.credit_day_month(now, deps.settings.policy.credit_day)
    if month is None or (not force and deps.table.get(*drop_key(month))):
        return 0
    count = 0
    for tier in rules.CREDIT_DAY_TIERS:
        count += enqueue_tier(deps, tier, now, lambda ids, t=tier: {"type": "credit_day", "month": month,
                                                                      "tier": t, "members": ids})
    uow = UnitOfWork(deps.table, now, "system")
    uow.put({"pk": drop_key(month)[0], "sk": "DROP", "type": "drop", "kind": "credit_day", "month": month,
             "enqueued": count, "at": iso(now)})
    uow.audit(f"drop#credit_day#{month}", "credit_day_dropped", data={"members": count})
    uow.commit()
    return count


def credit_day_grant(deps: Deps, month: str, tier: str) -> Grant | None:
    amount = rules.credit_day_amount(tier, deps.settings.policy)
    if amount <= 0:
        return None
    start, end = rules.month_window(month)
    return Grant("credit_day", month, amount, deps.settings.policy.credit_day_min_spend, start, end)


# -- the worker -----------------------------------------------------------------------------

def issue(deps: Deps, grant: Grant, member_ids: list[str]) -> int:
    """Issue `grant` to each member that does not have it yet; returns how many were issued now."""
    member_ids = list(dict.fromkeys(member_ids))
    issued = 0
    for start in range(0, len(member_ids), 100):
        ids = member_ids[start:start + 100]
        have = deps.table.batch_get([coupon_key(grant.coupon_id(m)) for m in ids])
        todo = [m for m in ids if coupon_key(grant.coupon_id(m)) not in have]
        for part in range(0, len(todo), PER_TRANSACTION):
            issued += _issue_chunk(deps, grant, todo[part:part + PER_TRANSACTION])
    return issued


def _issue_chunk(deps: Deps, grant: Grant, member_ids: list[str]) -> int:
    """One transaction: conditional puts, the budget counter, one audit/event. Losers are dropped and retried."""
    for _ in range(MAX_ATTEMPTS):
        if grant.campaign_id:
            member_ids = member_ids[:_budget_room(deps, grant, len(member_ids))]
        if not member_ids:
            return 0
        uow = UnitOfWork(deps.table, deps.clock.now(), "system")
        for m in member_ids:
            uow.put(grant.item(m), condition="attribute_not_exists(pk)")
        if grant.kind == "credit_day":  # the month's count for operators (GET /v1/admin/credit-day)
            uow.update(*credit_day_stats_key(grant.ref), add={"coupons_dropped": len(member_ids)})
        if grant.campaign_id:
            total = grant.amount * len(member_ids)
            cond = "attribute_exists(pk)" if grant.budget is None else "given <= :maxb"
            uow.update(*campaign_key(grant.campaign_id), add={"given": total, "issued": len(member_ids)},
                       condition=cond, values={":maxb": grant.budget - total} if grant.budget is not None else None)
        uow.audit(f"drop#{grant.kind}#{grant.ref}", "coupons_issued", event="coupons.issued",
                  data={"kind": grant.kind, "amount": grant.amount, "count": len(member_ids),
                        "coupons": [{"id": grant.coupon_id(m), "member_id": m} for m in member_ids]})
        try:
            uow.commit()
            return len(member_ids)
        except (Retry, DomainError) as exc:
            member_ids = _without_existing(member_ids, exc)
    raise RuntimeError("coupon batch still contended; the message will be retried")


def _without_existing(member_ids: list[str], exc: Exception) -> list[str]:
    """Drop the members whose coupon put was refused (it exists: another delivery issued it)."""
    reasons = getattr(exc.__cause__, "reasons", None) or []
    return [m for i, m in enumerate(member_ids) if i >= len(reasons) or reasons[i] != "ConditionalCheckFailed"]


# -- campaigns ------------------------------------------------------------------------------

def campaign_key(campaign_id: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}", "CAMPAIGN"


def campaign_grant(campaign: dict) -> Grant:
    return Grant("campaign", campaign["campaign_id"], int(campaign["amount"]), int(campaign["min_spend"]),
                 parse_iso(campaign["valid_from"]), parse_iso(campaign["valid_until"]),
                 campaign_id=campaign["campaign_id"],
                 budget=int(campaign["budget"]) if campaign.get("budget") is not None else None,
                 percent_off=int(campaign["percent_off"]) if campaign.get("percent_off") else None)


def _budget_room(deps: Deps, grant: Grant, wanted: int) -> int:
    if grant.budget is None:
        return wanted
    campaign = deps.table.get(*campaign_key(grant.campaign_id or "")) or {}
    return rules.budget_fit(grant.budget, int(campaign.get("given", 0)), grant.amount, wanted)
