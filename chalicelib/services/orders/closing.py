"""How an order or booking ends for the member: paid (exposure back, coupon used) or a default."""

from __future__ import annotations

from ...store.uow import UnitOfWork
from ..marketing import coupons
from ..members import members
from ..ops import metrics


def stage_paid(uow: UnitOfWork, item: dict, release: int, on_time: bool) -> None:
    """Charged: give the exposure back (an on-time payment raises the limit), consume the coupon."""
    add = {"on_time_count": 1} if on_time else {}
    members.stage_release_exposure(uow, item["member_id"], release, **add)
    if item.get("coupon_id"):
        coupons.stage_consume(uow, item["coupon_id"], item["id"])
    metrics.stage_closed(uow, uow.now.strftime("%Y-%m-%d"), item.get("band"), item.get("scenario"), False)


def stage_default(uow: UnitOfWork, item: dict) -> None:
    """Every charge attempt failed: a default, counted and blacklisted (exposure stays: it is owed)."""
    members.stage_blacklist(uow, item["member_id"], "default", "system", uow.now, default_count=1)
    metrics.stage_closed(uow, uow.now.strftime("%Y-%m-%d"), item.get("band"), item.get("scenario"), True)


def stage_released(uow: UnitOfWork, item: dict, release: int) -> None:
    """Cancelled or rejected before any charge: exposure back, coupon returned."""
    members.stage_release_exposure(uow, item["member_id"], release)
    if item.get("coupon_id"):
        coupons.stage_return(uow, item["coupon_id"], item["id"])
