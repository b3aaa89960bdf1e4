"""Members: identity, credit snapshot, limits, exposure, blacklist. The member item is the one
place a request reads to know who it is dealing with (GET /v1/me is one GetItem)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from ...clock import iso, parse_iso
from ...domain import credit
from ...domain.errors import Forbidden, NotFound
from ...domain.policy import Policy
from ...domain.risk import MemberFacts
from ...store.schema import shard_of
from ...store.uow import RETRY, UnitOfWork


def member_id_for(provider: str, provider_user_id: str) -> str:
    """Stable id from the provider's user id: the same NAME is the same member."""
    return "m_" + hashlib.sha256(f"{provider}:{provider_user_id}".encode()).hexdigest()[:20]


def member_key(member_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", "MEMBER"


def load(table: Any, member_id: str) -> dict:
    item = table.get(*member_key(member_id))
    if not item:
        raise NotFound("member not found")
    return item


def snapshot_live(member: dict, now: datetime) -> bool:
    """A granted snapshot that has not expired (expiry is enforced here even before the daily job)."""
    expires = member.get("authorization_expires_at")
    return bool(member.get("band")) and bool(expires) and parse_iso(expires) > now


def band(member: dict, now: datetime) -> str | None:
    return member.get("band") if snapshot_live(member, now) else None


def tier(member: dict, now: datetime) -> str:
    return str(credit.tier_of(band(member, now)))


def limit(member: dict, now: datetime, policy: Policy) -> int:
    return credit.credit_limit(
        tier(member, now),
        int(member.get("on_time_count", 0)),
        policy.tier_limits,
        policy.limit_raise_pct_per_on_time,
        policy.limit_max_multiplier,
    )


def facts(member: dict, now: datetime, policy: Policy, device_members: int = 0) -> MemberFacts:
    return MemberFacts(
        band=band(member, now),
        tier=tier(member, now),
        blacklisted=bool(member.get("blacklisted")),
        exposure=int(member.get("exposure", 0)),
        limit=limit(member, now, policy),
        order_count=int(member.get("order_count", 0)),
        order_total=int(member.get("order_total", 0)),
        recent_at=tuple(parse_iso(t) for t in member.get("recent_at", [])),
        device_members=device_members,
    )


def require_authorized(member: dict, now: datetime) -> None:
    """403 credit_authorization_required unless a live granted snapshot exists."""
    if not snapshot_live(member, now):
        raise Forbidden("authorize your credit first", code="credit_authorization_required")


def view(member: dict, now: datetime, policy: Policy) -> dict:
    """The GET /v1/me shape."""
    t = tier(member, now)
    lim = limit(member, now, policy)
    exposure = int(member.get("exposure", 0))
    live = snapshot_live(member, now)
    return {
        "member_id": member["member_id"],
        "provider": member["provider"],
        "score_band": band(member, now),
        "tier": t,
        "benefits": credit.benefits_of(t),
        "credit_limit": lim,
        "exposure": exposure,
        "available_credit": max(lim - exposure, 0),
        "authorization_expires_at": member.get("authorization_expires_at") if live else None,
        "blacklisted": bool(member.get("blacklisted")),
        "on_time_count": int(member.get("on_time_count", 0)),
        "default_count": int(member.get("default_count", 0)),
    }


# -- staged writes other services compose into their transactions ----------------------------


def stage_exposure(
    uow: UnitOfWork, member_id: str, amount: int, max_before: int | None = None, stats: tuple[dict, dict] | None = None
) -> None:
    """Add to exposure. With `max_before`, only if exposure <= max_before (limit - amount): exact
    under concurrency without read-then-write; a lost race is retried with a fresh decision.
    `stats` (add, set) from `order_stats` ride in the same update: a transaction touches an item once."""
    add, set_ = stats or ({}, {})
    if max_before is None:
        uow.update(
            *member_key(member_id), add={"exposure": amount, **add}, set=set_ or None, condition="attribute_exists(pk)"
        )
        return
    uow.update(
        *member_key(member_id),
        add={"exposure": amount, **add},
        set=set_ or None,
        condition="attribute_exists(pk) AND (attribute_not_exists(exposure) OR exposure <= :maxb)",
        values={":maxb": max_before},
        on_fail=RETRY,
    )


def stage_release_exposure(uow: UnitOfWork, member_id: str, amount: int, **add: int) -> None:
    """Give exposure back (never below zero: the guard refuses a double release), with counters."""
    if amount <= 0 and not add:
        return
    values = {":amt": amount}
    uow.update(
        *member_key(member_id),
        add={"exposure": -amount, **add},
        condition="exposure >= :amt",
        values=values,
        on_fail=RETRY,
    )


def order_stats(member: dict, amount: int, now: datetime, policy: Policy) -> tuple[dict, dict]:
    """The (add, set) that count a new order/rental/booking for the risk rules."""
    from ...domain.risk import record_recent

    recent = record_recent([parse_iso(t) for t in member.get("recent_at", [])], now, policy.velocity_window_minutes)
    return {"order_count": 1, "order_total": amount}, {"recent_at": [iso(t) for t in recent]}


def stage_order_stats(uow: UnitOfWork, member: dict, amount: int, now: datetime, policy: Policy) -> None:
    """Count a new order/rental/booking for the risk rules (average, first order, velocity)."""
    add, set_ = order_stats(member, amount, now, policy)
    uow.update(*member_key(member["member_id"]), add=add, set=set_)


def stage_blacklist(uow: UnitOfWork, member_id: str, reason: str, by: str, now: datetime, **add: int) -> None:
    """Blacklist a member (idempotent: re-adding keeps the first entry's time); `add`: counters
    to bump in the same update (e.g. default_count), since a transaction touches an item once."""
    at = iso(now)
    uow.update(
        *member_key(member_id),
        add=add or None,
        set={
            "blacklisted": True,
            "blacklist_reason": reason,
            "blacklisted_by": by,
            "list_pk": "blacklist",
            "list_sk": f"{at}#{member_id}",
        },
        set_raw=["blacklisted_at = if_not_exists(blacklisted_at, :bat)"],
        values={":bat": at},
        condition="attribute_exists(pk)",
        on_fail=NotFound("member not found"),
    )
    uow.audit(f"member#{member_id}", "blacklisted", after={"reason": reason, "by": by}, event="member.blacklisted")


def snapshot_writes(band_label: str, now: datetime, policy: Policy, member_id: str) -> dict:
    """Member attributes for a granted snapshot (band only, never the score) with its expiry timer."""
    expires = now + timedelta(days=policy.authorization_days)
    t = str(credit.tier_of(band_label))
    return {
        "band": band_label,
        "tier": t,
        "authorization_status": "granted",
        "authorized_at": iso(now),
        "authorization_expires_at": iso(expires),
        "due_pk": f"timer#member#{shard_of(member_id)}",
        "due_at": iso(expires),
        "group_pk": f"tier#{t}#{shard_of(member_id)}",
        "group_sk": member_id,
    }


SNAPSHOT_ATTRS = [
    "band",
    "tier",
    "authorized_at",
    "authorization_expires_at",
    "due_pk",
    "due_at",
    "group_pk",
    "group_sk",
]
