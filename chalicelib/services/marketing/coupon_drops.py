"""Coupon drops: the monthly credit day and operator campaigns, to every member of a tier, in batches.

Fan-out: the `group` index holds each tier's members over shard_count() shards; the drop sends one page
message per tier and shard to `coupon-drops`, so workers read shards in parallel. Worker: one page -> a Query
of up to PAGE members (no Scan), the next page handed on, a BatchGetItem to skip coupons already there, then
TransactWriteItems of up to PER_TRANSACTION conditional puts (attribute_not_exists) plus one audit
entry (the batch's outbox event) and, for a campaign, the budget counter. Coupon ids are
deterministic, so a job run twice or a batch delivered twice issues nothing new, and a coupon already
reserved or used is never rewritten (a blind BatchWriteItem could reset it to available).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...clock import iso, parse_iso
from ...domain import coupons as rules
from ...domain.errors import DomainError
from ...ports import Deps
from ...store.schema import shard_count, shard_of
from ...store.uow import Retry, UnitOfWork
from ..ops import metrics
from .coupons import coupon_id, coupon_item, coupon_key

QUEUE = "coupon-drops"
PAGE = 96  # members per page message (a multiple of PER_TRANSACTION)
PER_TRANSACTION = 24  # coupons per TransactWriteItems: 25 items with the audit (moto's cap; DynamoDB allows 100)
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
        return coupon_item(
            self.coupon_id(member_id),
            member_id,
            self.kind,
            self.amount,
            self.min_spend,
            self.valid_from,
            self.valid_until,
            drop=f"{self.kind}#{self.ref}",
            **extra,
        )


# -- finding members: independent pages --------------------------------------------------------


def page_messages(base: dict, tier: str) -> list[dict]:
    """The first page of every shard of a tier's part of the `group` index: one message each, so
    workers read the shards in parallel; each page hands on the next (handle_page)."""
    return [{**base, "tier": tier, "shard": shard} for shard in range(shard_count())]


def tier_page(deps: Deps, tier: str, shard: int, after: str | None, now: datetime) -> tuple[list[str], str | None]:
    """Up to PAGE members of one shard after `after` (one Query), those with a live snapshot and not
    blacklisted; and the cursor of the next page (None when this was the last)."""
    cond, values = "group_pk = :p", {":p": f"tier#{tier}#{shard}"}
    if after:
        cond, values = cond + " AND group_sk > :a", {**values, ":a": after}
    rows = list(deps.table.query(cond, values, index="group", limit=PAGE))
    live = [
        m["member_id"]
        for m in rows
        if m.get("authorization_expires_at")
        and parse_iso(m["authorization_expires_at"]) > now
        and not m.get("blacklisted")
    ]
    return live, (rows[-1]["group_sk"] if len(rows) == PAGE else None)


def handle_page(deps: Deps, body: dict, grant: Grant | None) -> int:
    """One page: hand on the next page first (a crash after it only repeats work the deterministic coupon
    ids make harmless), then issue `grant` to this page's members. Returns coupons issued now."""
    now = deps.clock.now()
    members, after = tier_page(deps, body["tier"], int(body["shard"]), body.get("after"), now)
    if after:
        deps.queues.send(QUEUE, {**body, "after": after})
    return issue(deps, grant, members) if grant and members else 0


# -- the credit day -------------------------------------------------------------------------


def drop_key(month: str) -> tuple[str, str]:
    return f"DROP#credit_day#{month}", "DROP"


def drop_credit_day(deps: Deps, now: datetime, force: bool = False) -> int:
    """On/after the month's credit day, once a month: the first page of every shard of the silver and gold
    members to the queue (page workers run in parallel and hand on their next pages); returns the pages.

    Before the day: nothing. After this month's drop is recorded: one GetItem. A crash before the
    record means the next run sends the pages again, which the worker makes harmless.
    """
    month = rules.credit_day_month(now, deps.settings.policy.credit_day)
    if month is None or (not force and deps.table.get(*drop_key(month))):
        return 0
    pages = [
        m for tier in rules.CREDIT_DAY_TIERS for m in page_messages({"type": "credit_day_page", "month": month}, tier)
    ]
    deps.queues.send_many(QUEUE, pages)
    uow = UnitOfWork(deps.table, now, "system")
    uow.put(
        {
            "pk": drop_key(month)[0],
            "sk": "DROP",
            "type": "drop",
            "kind": "credit_day",
            "month": month,
            "pages": len(pages),
            "at": iso(now),
        }
    )
    # Where the pages' coupons_issued entries are (the drop's own entity names them for operators).
    spread = [issued_entity("credit_day", month, s) for s in range(shard_count())]
    uow.audit(f"drop#credit_day#{month}", "credit_day_dropped", data={"pages": len(pages), "issued_in": spread})
    uow.commit()
    return len(pages)


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
        ids = member_ids[start : start + 100]
        have = deps.table.batch_get([coupon_key(grant.coupon_id(m)) for m in ids])
        todo = [m for m in ids if coupon_key(grant.coupon_id(m)) not in have]
        for part in range(0, len(todo), PER_TRANSACTION):
            issued += _issue_chunk(deps, grant, todo[part : part + PER_TRANSACTION])
    return issued


def _issue_chunk(deps: Deps, grant: Grant, member_ids: list[str]) -> int:
    """One transaction: conditional puts, the budget counter, one audit/event. Losers are dropped and retried."""
    for _ in range(MAX_ATTEMPTS):
        if grant.campaign_id:
            member_ids = member_ids[: _budget_room(deps, grant, len(member_ids))]
        if not member_ids:
            return 0
        uow = UnitOfWork(deps.table, deps.clock.now(), "system")
        for m in member_ids:
            uow.put(grant.item(m), condition="attribute_not_exists(pk)")
        if grant.kind == "credit_day":  # the month's count for operators (GET /v1/admin/credit-day)
            metrics.stage_credit_day(uow, grant.ref, {"coupons_dropped": len(member_ids)})
        if grant.campaign_id:
            total = grant.amount * len(member_ids)
            cond = "attribute_exists(pk)" if grant.budget is None else "given <= :maxb"
            uow.update(
                *campaign_key(grant.campaign_id),
                add={"given": total, "issued": len(member_ids)},
                condition=cond,
                values={":maxb": grant.budget - total} if grant.budget is not None else None,
            )
        uow.audit(
            issued_entity(grant.kind, grant.ref, shard_of(member_ids[0])),
            "coupons_issued",
            event="coupons.issued",
            data={
                "kind": grant.kind,
                "amount": grant.amount,
                "count": len(member_ids),
                "coupons": [{"id": grant.coupon_id(m), "member_id": m} for m in member_ids],
            },
        )
        try:
            uow.commit()
            return len(member_ids)
        except (Retry, DomainError) as exc:
            member_ids = _without_existing(member_ids, exc)
    raise RuntimeError("coupon batch still contended; the message will be retried")


def issued_entity(kind: str, ref: str, shard: int) -> str:
    """The audit entity of a drop's coupons_issued entries: spread over the shards (by the batch's first
    member), so parallel pages never write one audit partition (nor one outbox partition) together."""
    return f"drop#{kind}#{ref}#{shard}"


def _without_existing(member_ids: list[str], exc: Exception) -> list[str]:
    """Drop the members whose coupon put was refused (it exists: another delivery issued it)."""
    reasons = getattr(exc.__cause__, "reasons", None) or []
    return [m for i, m in enumerate(member_ids) if i >= len(reasons) or reasons[i] != "ConditionalCheckFailed"]


# -- campaigns ------------------------------------------------------------------------------


def campaign_key(campaign_id: str) -> tuple[str, str]:
    return f"CAMPAIGN#{campaign_id}", "CAMPAIGN"


def campaign_grant(campaign: dict) -> Grant:
    return Grant(
        "campaign",
        campaign["campaign_id"],
        int(campaign["amount"]),
        int(campaign["min_spend"]),
        parse_iso(campaign["valid_from"]),
        parse_iso(campaign["valid_until"]),
        campaign_id=campaign["campaign_id"],
        budget=int(campaign["budget"]) if campaign.get("budget") is not None else None,
        percent_off=int(campaign["percent_off"]) if campaign.get("percent_off") else None,
    )


def _budget_room(deps: Deps, grant: Grant, wanted: int) -> int:
    if grant.budget is None:
        return wanted
    campaign = deps.table.get(*campaign_key(grant.campaign_id or "")) or {}
    return rules.budget_fit(grant.budget, int(campaign.get("given", 0)), grant.amount, wanted)
