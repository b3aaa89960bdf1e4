"""Coupons: issuing (first-order subsidy, upgrade reward) and redemption (reserve, consume, return).

Ids are deterministic, so issuing twice is refused by `attribute_not_exists` and never gives twice.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from ..clock import iso
from ..domain.coupons import CouponStatus
from ..domain.errors import InvalidState
from ..store.uow import RETRY, UnitOfWork


def coupon_key(coupon_id: str) -> tuple[str, str]:
    return f"COUPON#{coupon_id}", "COUPON"


def coupon_id(*parts: str) -> str:
    return "cpn_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def coupon_item(cid: str, member_id: str, kind: str, amount: int, min_spend: int, valid_from: datetime,
                valid_until: datetime, **extra: object) -> dict:
    return {"pk": f"COUPON#{cid}", "sk": "COUPON", "coupon_id": cid, "member_id": member_id, "kind": kind,
            "amount": amount, "min_spend": min_spend, "valid_from": iso(valid_from), "valid_until": iso(valid_until),
            "status": str(CouponStatus.AVAILABLE), "list_pk": f"member#{member_id}#coupon",
            "list_sk": f"{iso(valid_from)}#{cid}", **extra}


def stage_issue(uow: UnitOfWork, item: dict, retry_on_exists: bool = True) -> None:
    """Issue a coupon exactly once (a second attempt fails the condition)."""
    uow.put(item, condition="attribute_not_exists(pk)", on_fail=RETRY if retry_on_exists else None)
    uow.audit(f"coupon#{item['coupon_id']}", "issued", after={"kind": item["kind"], "amount": item["amount"],
                                                               "member_id": item["member_id"]},
              event="coupon.issued")


def stage_first_order(uow: UnitOfWork, member_id: str, amount: int, now: datetime, valid_days: int) -> str:
    cid = coupon_id("first_order", member_id)
    stage_issue(uow, coupon_item(cid, member_id, "first_order", amount, 0, now, now + timedelta(days=valid_days)))
    return cid


def stage_upgrade(uow: UnitOfWork, member_id: str, tier: str, amount: int, now: datetime, valid_days: int) -> str:
    cid = coupon_id("upgrade", member_id, tier)
    stage_issue(uow, coupon_item(cid, member_id, "upgrade", amount, 0, now, now + timedelta(days=valid_days),
                                 tier=tier))
    return cid


def stage_reserve(uow: UnitOfWork, cid: str, ref: str) -> None:
    """Hold the coupon for an order/rental: only one of many concurrent orders can."""
    uow.update(*coupon_key(cid), set={"status": str(CouponStatus.RESERVED), "reserved_for": ref},
               condition="#st = :avail", names={"#st": "status"}, values={":avail": str(CouponStatus.AVAILABLE)},
               on_fail=InvalidState("coupon already used", "coupon_id", code="coupon_unavailable"))
    uow.audit(f"coupon#{cid}", "reserved", before={"status": "available"}, after={"status": "reserved", "for": ref})


def stage_consume(uow: UnitOfWork, cid: str, ref: str) -> None:
    """The order was charged: the reserved coupon is used for good."""
    uow.update(*coupon_key(cid), set={"status": str(CouponStatus.USED), "used_at": iso(uow.now)},
               condition="#st = :res AND reserved_for = :ref", names={"#st": "status"},
               values={":res": str(CouponStatus.RESERVED), ":ref": ref})
    uow.audit(f"coupon#{cid}", "used", before={"status": "reserved"}, after={"status": "used", "for": ref})


def stage_return(uow: UnitOfWork, cid: str, ref: str) -> None:
    """The order was cancelled or rejected: the coupon is available again."""
    uow.update(*coupon_key(cid), set={"status": str(CouponStatus.AVAILABLE)}, remove=["reserved_for"],
               condition="#st = :res AND reserved_for = :ref", names={"#st": "status"},
               values={":res": str(CouponStatus.RESERVED), ":ref": ref})
    uow.audit(f"coupon#{cid}", "returned", before={"status": "reserved"}, after={"status": "available"})
