"""The rental timer (rental-timers worker): whatever is due on a rental now, dispatched to the
settlement (returned, overdue), the security reconciliation (a freeze or deposit unconfirmed) or the
freeze lapse. It sits above the three so none of them needs another's dispatcher."""

from __future__ import annotations

from ...clock import parse_iso
from ...domain import rentals as rules
from ...log import logger
from ...ports import Deps
from . import disputes, lapse, security, settlement, store

S = rules.RentalStatus


def on_timer(deps: Deps, rental_id: str) -> str:
    """rental-timers: whatever is due on this rental now (a stale or repeated message does nothing)."""
    item = store.get(deps.table, rental_id)
    now = deps.clock.now()
    if not item or not item.get("due_at") or parse_iso(item["due_at"]) > now:
        return "nothing_to_do"
    status = item["status"]
    if status in (S.RETURNED, S.INSPECTING):  # a lost settlement message, or the inspection hold is over
        return settlement.settle_returned(deps, rental_id)
    if status == S.CLOSING:
        return settlement.settle_buyout(deps, item)  # the provider did not answer the buyout at once
    if status in (S.PENDING_FREEZE, S.AWAITING_DEPOSIT):
        return security.reconcile(deps, item, now)
    if status == S.ACTIVE:
        overdue = rules.overdue_at(parse_iso(item["return_by"]), deps.settings.policy.grace_days)
        if now >= overdue or item.get("settle_started_at"):
            return settlement.settle_overdue(deps, item, now)
        return lapse.handle_lapse(deps, item, now, settlement.settle_on_lapse)
    if status == S.CLOSED and item.get("dispute_status") == "refunding":
        return disputes.refund(deps, rental_id)  # an upheld dispute whose refund has not succeeded yet
    logger.info("timer on a settled rental cleared", extra={"rental_id": rental_id, "status": status})
    settlement.clear_timer(deps, item, now)
    return "nothing_to_do"
