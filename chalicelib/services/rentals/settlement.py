"""Closing a rental: the settlement worker (returned -> closed), an overdue default and a settlement on
freeze lapse (both reached through rentals/timer.py). Each re-reads the rental, calls the provider with deterministic request
numbers (a retry never moves money twice), then commits under a condition on the status it read.
A provider error raises, so the queue retries the message (and dead-letters it after max receives)."""
from __future__ import annotations

from datetime import datetime

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.errors import DomainError, ProviderError
from ...ports import Deps
from ...providers.base import Line
from ...store.guards import expect
from ...store.uow import RETRY, Retry, UnitOfWork
from ..marketing import coupons
from ..members import members
from ..ops import ledger, metrics
from . import store
from .lapse import cancel_unapplied_renewal

S = rules.RentalStatus


class _AlreadySettled(DomainError):
    """Another delivery closed the rental first."""


def settle_returned(deps: Deps, rental_id: str) -> str:
    """release_freezes: take the rent (and any late fee), release the rest, close. Repeats do nothing."""
    item = store.get(deps.table, rental_id)
    if not item or item["status"] != S.RETURNED:
        return "nothing_to_do"
    settlement, on_time = rules.settle_return(
        store.held(item), int(item["rent"]), int(item.get("deducted_amount", 0)), int(item["daily_rent"]),
        parse_iso(item["return_by"]), parse_iso(item["returned_at"]), deps.settings.policy.grace_days)
    _move_money(deps, item, settlement, positive=True if on_time else None)
    return _close(deps, item, settlement, rules.Outcome.RETURNED, on_time)


def settle_overdue(deps: Deps, item: dict, now: datetime) -> str:
    """Default: rent + daily_rent x ceil(days late) from what is held, the rest released, blacklisted."""
    if not item.get("settle_started_at"):
        item = _start_settling(deps, item, now)
        if item is None:
            return "nothing_to_do"
    settlement = rules.settle_overdue(store.held(item), int(item["rent"]), int(item.get("deducted_amount", 0)),
                                      int(item["daily_rent"]), parse_iso(item["return_by"]),
                                      parse_iso(item["settle_started_at"]))
    _move_money(deps, item, settlement, positive=False)
    return _close(deps, item, settlement, rules.Outcome.DEFAULTED, False)


def settle_on_lapse(deps: Deps, item: dict, now: datetime, why: str) -> str:
    """The freeze lapses soon and cannot be renewed: take the rent from it while it lives, release the rest."""
    settlement = rules.settle(store.held(item), int(item["rent"]), int(item.get("deducted_amount", 0)))
    _move_money(deps, item, settlement, positive=None)
    return _close(deps, item, settlement, rules.Outcome.SETTLED, False, note=("settled_on_lapse", why))


def _start_settling(deps: Deps, item: dict, now: datetime) -> dict | None:
    """Fix the moment of the default once, so a retried worker computes the very same amounts."""
    uow = UnitOfWork(deps.table, now, "system")
    uow.update(*store.rental_key(item["id"]), set={"settle_started_at": iso(now)},
               **expect({"status": S.ACTIVE}, also="attribute_not_exists(settle_started_at)", on_fail=RETRY))
    uow.audit(f"rental#{item['id']}", "overdue", after={"settle_started_at": iso(now)}, event="rental.overdue")
    try:
        uow.commit()
    except (Retry, DomainError):  # returned or settling meanwhile: the re-read decides
        pass
    fresh = store.get(deps.table, item["id"])
    if not fresh or fresh["status"] != S.ACTIVE or not fresh.get("settle_started_at"):
        return None
    return fresh


def _request_nos(rental_id: str) -> dict[str, str]:
    return {k: numbers.number(rental_id, k) for k in ("rent", "overdue", "release", "fulfil")}


def _move_money(deps: Deps, item: dict, s: rules.Settlement, positive: bool | None) -> None:
    """The provider calls of a settlement; each idempotent by its request number. Fulfilment is reported
    only for an on-time return (positive True); a late or defaulted rental is never reported as kept."""
    provider, ref, nos = deps.provider(item["provider"]), item["member_ref"], _request_nos(item["id"])
    results = []
    if item.get("freeze_ref"):
        results.extend(cancel_unapplied_renewal(deps, item))
        results.extend(provider.settle_freeze(nos["release"], item["freeze_ref"], ref, _lines(deps, item, s),
                                              s.released, fulfilled=positive is True))
    else:
        if s.released:  # deposit-required: rent and fee stay with the merchant, the rest is refunded
            results.append(provider.refund(nos["release"], item["deposit_ref"], ref, s.released))
        if positive is not None:
            results.append(provider.record_fulfilment(nos["fulfil"], ref, positive))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ProviderError(f"the provider refused a settlement step: {failed[0].reason}")


def _lines(deps: Deps, item: dict, s: rules.Settlement) -> list[Line]:
    """What the freeze pays, line by line: operators' deductions (recorded before their capture, so a
    repeat for those the provider already took), then the rent and any overdue fee."""
    lines = []
    if int(item.get("deduction_count", 0)):
        _, facts = store.money_history(deps.table, item["id"])
        lines = [Line("deduction", int(f["amount"]), f["reason"], f["out_request_no"]) for f in facts
                 if f["kind"] == "deduction" and numbers.object_of(f["out_request_no"], "rt", "ded") == item["id"]]
    nos = _request_nos(item["id"])
    if s.rent_charged:
        lines.append(Line("rent", s.rent_charged, "rent", nos["rent"]))
    if s.fee_deducted:
        lines.append(Line("overdue", s.fee_deducted, "overdue", nos["overdue"]))
    return lines


def _close(deps: Deps, item: dict, s: rules.Settlement, outcome: rules.Outcome, on_time: bool,
           note: tuple[str, str] | None = None) -> str:
    now = deps.clock.now()
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    rid, nos = item["id"], _request_nos(item["id"])
    store.stage_move(uow, item, S.CLOSED, _AlreadySettled("closed already"), set={
        "outcome": str(outcome), "rent_charged": s.rent_charged, "deducted_amount": s.deducted_total,
        "released_amount": s.released, "closed_at": iso(now), "exposure_amount": 0},
        remove=store.TIMER_ATTRS)
    facts = [("rent", s.rent_charged, "rent", nos["rent"]), ("deduction", s.fee_deducted, "overdue", nos["overdue"]),
             ("release", s.released, "refund" if not item.get("freeze_ref") else "release", nos["release"])]
    for kind, amount, reason, request_no in facts:
        if amount:
            store.stage_money_fact(uow, rid, kind, amount, reason, request_no)
            if kind != "release" or not item.get("freeze_ref"):  # a release from a freeze moves no money
                ledger.stage_movement(uow, item["provider"], request_no, "refund" if kind == "release" else "capture",
                                      amount)
    if item.get("freeze_ref") and not deps.provider(item["provider"]).captures_live:
        for line in _lines(deps, item, s):  # deductions recorded earlier are taken now, with the rent
            if line.name == "deduction":
                ledger.stage_movement(uow, item["provider"], line.out_request_no, "capture", line.amount)
    defaulted = outcome == rules.Outcome.DEFAULTED
    if defaulted:  # one member update (a transaction touches an item once); the rental's guard makes
        # this release happen once, so exposure cannot go below what other rentals hold
        members.stage_blacklist(uow, item["member_id"], "default", "system", now, default_count=1,
                                exposure=-store.exposure_of(item))
    else:
        counters = {"on_time_count": 1} if on_time else {}
        members.stage_release_exposure(uow, item["member_id"], store.exposure_of(item), **counters)
    metrics.stage_closed(uow, now.strftime("%Y-%m-%d"), item.get("band"), item["scenario"], defaulted)
    if item.get("coupon_id"):
        coupons.stage_consume(uow, item["coupon_id"], rid)
    if note:
        uow.audit(f"rental#{rid}", note[0], data={"why": note[1]})
    try:
        uow.commit()
    except _AlreadySettled:
        return "nothing_to_do"
    return str(outcome)


def clear_timer(deps: Deps, item: dict, now: datetime) -> None:
    uow = UnitOfWork(deps.table, now, "system")
    uow.update(*store.rental_key(item["id"]), remove=store.TIMER_ATTRS,
               **expect({"status": item["status"]}, on_fail=RETRY))
    try:
        uow.commit()
    except (Retry, DomainError):  # moved on meanwhile
        pass
