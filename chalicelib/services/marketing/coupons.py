"""Coupons: issuing (first-order subsidy, upgrade reward) and redemption (reserve, consume, return).

Ids are deterministic, so issuing twice is refused by `attribute_not_exists` and never gives twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ...clock import iso
from ...domain import coupons as rules
from ...domain.coupons import CouponStatus
from ...domain.credit import tier_rank
from ...domain.errors import InvalidState
from ...domain.policy import Policy
from ...store.dynamo import Table
from ...store.guards import expect
from ...store.uow import RETRY, UnitOfWork


def coupon_key(coupon_id: str) -> tuple[str, str]:
    return f"COUPON#{coupon_id}", "COUPON"


def coupon_id(*parts: str) -> str:
    return "cpn_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def coupon_item(
    cid: str,
    member_id: str,
    kind: str,
    amount: int,
    min_spend: int,
    valid_from: datetime,
    valid_until: datetime,
    **extra: object,
) -> dict:
    return {
        "pk": f"COUPON#{cid}",
        "sk": "COUPON",
        "coupon_id": cid,
        "member_id": member_id,
        "kind": kind,
        "amount": amount,
        "min_spend": min_spend,
        "valid_from": iso(valid_from),
        "valid_until": iso(valid_until),
        "status": str(CouponStatus.AVAILABLE),
        "list_pk": f"member#{member_id}#coupon",
        "list_sk": f"{iso(valid_from)}#{cid}",
        **extra,
    }


def stage_issue(uow: UnitOfWork, item: dict, retry_on_exists: bool = True) -> None:
    """Issue a coupon exactly once (a second attempt fails the condition)."""
    uow.put(item, condition="attribute_not_exists(pk)", on_fail=RETRY if retry_on_exists else None)
    uow.audit(
        f"coupon#{item['coupon_id']}",
        "issued",
        after={"kind": item["kind"], "amount": item["amount"], "member_id": item["member_id"]},
        event="coupon.issued",
    )


@dataclass
class GrantRewards:
    """Member attributes and guards to add to the granted snapshot's write (same transaction)."""

    writes: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    values: dict = field(default_factory=dict)


def stage_grant_rewards(
    table: Table, uow: UnitOfWork, member: dict, new_tier: str, band: str, policy: Policy
) -> GrantRewards:
    """First-order subsidy on the first grant; upgrade reward when the tier rises above its peak."""
    out = GrantRewards()
    first_grant = not member.get("ever_granted")
    if first_grant:
        out.conditions.append("attribute_not_exists(ever_granted)")
        amount = rules.first_order_amount(band, policy)
        cid = first_order_id(member)
        if amount and not table.get(*coupon_key(cid)):  # one per provider user, ever
            stage_issue(
                uow,
                coupon_item(
                    cid,
                    member["member_id"],
                    "first_order",
                    amount,
                    0,
                    uow.now,
                    uow.now + timedelta(days=policy.coupon_valid_days),
                ),
            )
            out.writes["first_subsidy_at"] = iso(uow.now)
    peak = rules.peak_tier(_reached(member))
    for reached, amount in rules.upgrade_rewards(peak, new_tier, first_grant, policy):
        stage_upgrade(uow, member, reached, amount, uow.now, policy.coupon_valid_days)
    if tier_rank(new_tier) > tier_rank(peak):
        out.writes["peak_tier"] = str(new_tier)
        out.conditions.append(
            "(attribute_not_exists(peak_tier) OR peak_tier = :old_peak)"
            if member.get("peak_tier")
            else "attribute_not_exists(peak_tier)"
        )
        if member.get("peak_tier"):
            out.values[":old_peak"] = member["peak_tier"]
    return out


def _reached(member: dict) -> set[str]:
    """Tiers reached so far (older members may only carry `rewarded_tiers`)."""
    tiers = set(member.get("rewarded_tiers", []))
    for attr in ("peak_tier", "tier"):
        if member.get(attr):
            tiers.add(member[attr])
    return tiers


def first_order_id(member: dict) -> str:
    """Keyed on the provider's user id: nothing the user can change gives a second subsidy."""
    return coupon_id("first_order", member["provider"], member["provider_user_id"])


def stage_upgrade(uow: UnitOfWork, member: dict, tier: str, amount: int, now: datetime, valid_days: int) -> str:
    cid = coupon_id("upgrade", member["provider"], member["provider_user_id"], tier)
    stage_issue(
        uow,
        coupon_item(cid, member["member_id"], "upgrade", amount, 0, now, now + timedelta(days=valid_days), tier=tier),
    )
    return cid


def list_for_member(table: Table, member_id: str, now: datetime) -> list[dict]:
    """The member's coupons, newest first: one Query on the `list` index."""
    items = table.query("list_pk = :p", {":p": f"member#{member_id}#coupon"}, index="list", forward=False)
    return [_view(c, now) for c in items]


def _view(c: dict, now: datetime) -> dict:
    out = {
        "id": c["coupon_id"],
        "kind": c["kind"],
        "amount": int(c["amount"]),
        "min_spend": int(c["min_spend"]),
        "valid_from": c["valid_from"],
        "valid_until": c["valid_until"],
        "status": rules.public_status(c, now),
    }
    if c.get("percent_off"):
        out["percent_off"] = int(c["percent_off"])  # `amount` is then the cap
    return out


def stage_reserve(uow: UnitOfWork, cid: str, ref: str) -> None:
    """Hold the coupon for an order/rental: only one of many concurrent orders can."""
    uow.update(
        *coupon_key(cid),
        set={"status": str(CouponStatus.RESERVED), "reserved_for": ref},
        **expect(
            {"status": CouponStatus.AVAILABLE},
            on_fail=InvalidState("coupon already used", "coupon_id", code="coupon_unavailable"),
        ),
    )
    uow.audit(f"coupon#{cid}", "reserved", before={"status": "available"}, after={"status": "reserved", "for": ref})


def stage_consume(uow: UnitOfWork, cid: str, ref: str) -> None:
    """The order was charged: the reserved coupon is used for good."""
    uow.update(
        *coupon_key(cid),
        set={"status": str(CouponStatus.USED), "used_at": iso(uow.now)},
        **expect({"status": CouponStatus.RESERVED, "reserved_for": ref}),
    )
    uow.audit(f"coupon#{cid}", "used", before={"status": "reserved"}, after={"status": "used", "for": ref})


def stage_return(uow: UnitOfWork, cid: str, ref: str) -> None:
    """The order was cancelled or rejected: the coupon is available again."""
    uow.update(
        *coupon_key(cid),
        set={"status": str(CouponStatus.AVAILABLE)},
        remove=["reserved_for"],
        **expect({"status": CouponStatus.RESERVED, "reserved_for": ref}),
    )
    uow.audit(f"coupon#{cid}", "returned", before={"status": "reserved"}, after={"status": "available"})
