"""The security of a rental coming through: provider notifications (freeze succeeded/failed, deposit paid/failed)
and the reconciliation of a request still pending after 15 minutes. Forward-only: a notification for a rental
already past that state does nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...log import logger
from ...ports import Deps
from ...providers.base import Notification, OpResult
from ...store.guards import expect
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from ..marketing import coupons
from ..members import members
from ..ops import ledger
from . import lapse as rental_lapse
from . import store
from .rentals import request_and_keep_params

S = rules.RentalStatus
WAITING = {"freeze": S.PENDING_FREEZE, "deposit": S.AWAITING_DEPOSIT}


def _rental_for(deps: Deps, note: Notification, purpose: str) -> dict | None:
    rid = store.rental_id_of(note.out_request_no)
    if not rid or note.out_request_no != numbers.number(rid, purpose):
        return None
    item = store.get(deps.table, rid)
    if not item or item["status"] != WAITING[purpose]:
        return None  # already past that state (or not ours): nothing to do
    return item


def stage_secured(deps: Deps, uow: UnitOfWork, item: dict, ref: str | None, expires_at: str | None) -> None:
    """pending_freeze/awaiting_deposit -> active, with the provider's reference and the freeze's lapse."""
    changes: dict = {"activated_at": iso(uow.now)}
    if item["status"] == S.PENDING_FREEZE:
        changes.update(freeze_ref=ref, freeze_expires_at=expires_at)
    else:
        changes["deposit_ref"] = ref
        ledger.stage_movement(
            uow, item["provider"], numbers.number(item["id"], "deposit"), "deposit", int(item.get("deposit_amount", 0))
        )
    changes.update(
        store.timer(
            item["id"], store.wake_for(item, S.ACTIVE, uow.now, deps.settings.policy, freeze_expires_at=expires_at)
        )
    )
    store.stage_move(uow, item, S.ACTIVE, RETRY, **set_or_remove(changes))


def stage_refused(uow: UnitOfWork, item: dict, reason: str) -> None:
    """The provider refused the freeze (or the deposit): rejected, exposure and coupon given back."""
    store.stage_move(
        uow, item, S.REJECTED, RETRY, set={"reason": reason, "exposure_amount": 0}, remove=store.TIMER_ATTRS
    )
    members.stage_release_exposure(uow, item["member_id"], store.exposure_of(item))
    if item.get("coupon_id"):
        coupons.stage_return(uow, item["coupon_id"], item["id"])


def on_freeze_succeeded(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    if rental_lapse.on_renewal_succeeded(deps, note, uow):
        return
    item = _rental_for(deps, note, "freeze")
    if item:
        stage_secured(
            deps,
            uow,
            item,
            note.provider_ref,
            note.data.get("expires_at") or (note.data.get("data") or {}).get("expires_at"),
        )


def on_freeze_failed(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    if rental_lapse.on_renewal_failed(deps, note, uow):
        return
    item = _rental_for(deps, note, "freeze")
    if item:
        stage_refused(uow, item, "freeze_refused")


def on_deposit_paid(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    item = _rental_for(deps, note, "deposit")
    if item:
        stage_secured(deps, uow, item, note.provider_ref, None)


def on_deposit_failed(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    item = _rental_for(deps, note, "deposit")
    if item:
        stage_refused(uow, item, "deposit_failed")


def reconcile(deps: Deps, item: dict, now: datetime) -> str:
    """A freeze/deposit still pending at its timer: ask the provider and settle from its answer."""
    purpose = "freeze" if item["status"] == S.PENDING_FREEZE else "deposit"
    answer = deps.provider(item["provider"]).query(numbers.number(item["id"], purpose))
    uow = UnitOfWork(deps.table, now, "reconciliation", deps.queues.send)
    if (
        purpose == "freeze"
        and (answer is None or answer.status == "pending")
        and _unconfirmed_too_long(deps, item, now)
    ):
        _give_up_freeze(deps, uow, item)
    elif answer is None:
        request_and_keep_params(deps, item, now)  # the provider never saw it: ask again (same request number)
        _stage_later(deps, uow, item, "request_resent")
    elif answer.status == "succeeded":
        stage_secured(deps, uow, item, answer.provider_ref, _expiry(answer))
    elif answer.status == "failed":
        stage_refused(uow, item, f"{purpose}_refused")
    else:
        _stage_later(deps, uow, item, "still_pending")
    uow.audit(f"rental#{item['id']}", "reconciled", data={"answer": answer.status if answer else "unknown"})
    try:
        uow.commit()
    except Retry:
        logger.info("reconciliation lost to a notification", extra={"rental_id": item["id"]})
    return answer.status if answer else "unknown"


def _unconfirmed_too_long(deps: Deps, item: dict, now: datetime) -> bool:
    """The user has not confirmed the freeze within the window (updated_at: when it was asked for)."""
    return now >= parse_iso(item["updated_at"]) + timedelta(minutes=deps.settings.policy.freeze_confirm_minutes)


def _give_up_freeze(deps: Deps, uow: UnitOfWork, item: dict) -> None:
    """Cancel the freeze at the provider first (so no orphan stays on the user's account, whatever became
    of it), then reject the rental; a cancel the provider refuses for now is tried again at the next turn."""
    result = deps.provider(item["provider"]).cancel_freeze(item["id"], numbers.number(item["id"], "freeze"))
    if result.ok:
        stage_refused(uow, item, "freeze_not_confirmed")
    else:
        _stage_later(deps, uow, item, "cancel_refused")


def _expiry(answer: OpResult) -> str | None:
    return iso(answer.expires_at) if answer.expires_at else None


def _stage_later(deps: Deps, uow: UnitOfWork, item: dict, why: str) -> None:
    wake = uow.now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)
    uow.update(
        *store.rental_key(item["id"]),
        set=store.timer(item["id"], wake),
        **expect({"status": item["status"]}, on_fail=RETRY),
    )
