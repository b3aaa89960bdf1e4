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
from ...log import logger
from ...ports import Deps
from ...providers.base import Line
from ...store.guards import ABSENT, expect
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
    """release_freezes (and the timer after an inspection hold): take the rent (and any late fee) and the
    recorded damage lines, release the rest, close. Repeats do nothing."""
    item = store.get(deps.table, rental_id)
    if not item or item["status"] not in (S.RETURNED, S.INSPECTING):
        return "nothing_to_do"
    if not item.get("settle_started_at"):  # from here no damage line can be added: the amounts are final
        item = _start_settling(deps, item, deps.clock.now(), "settling")
        if item is None:
            return "nothing_to_do"
    due, returned_at = parse_iso(item["return_by"]), parse_iso(item["returned_at"])
    days = rules.days_used(due - int(item["days"]) * rules.DAY, returned_at, int(item["days"]))
    rent_owed = rules.rent(int(item["daily_rent"]), days, int(item.get("discount", 0)))  # early: days used
    settlement, on_time = rules.settle_return(
        store.held(item),
        rent_owed,
        int(item.get("deducted_amount", 0)),
        int(item["daily_rent"]),
        due,
        returned_at,
        deps.settings.policy.grace_days,
    )
    lines = _lines(deps, item, settlement)
    refs = _move_money(deps, item, settlement, lines, positive=True if on_time else None)
    return _close(deps, item, settlement, lines, refs, rules.Outcome.RETURNED, on_time, days_charged=days)


def settle_overdue(deps: Deps, item: dict, now: datetime) -> str:
    """Default: rent + daily_rent x ceil(days late) from what is held, the rest released, blacklisted."""
    if not item.get("settle_started_at"):
        item = _start_settling(deps, item, now, "overdue")
        if item is None:
            return "nothing_to_do"
    settlement = rules.settle_overdue(
        store.held(item),
        int(item["rent"]),
        int(item.get("deducted_amount", 0)),
        int(item["daily_rent"]),
        parse_iso(item["return_by"]),
        parse_iso(item["settle_started_at"]),
    )
    lines = _lines(deps, item, settlement)
    refs = _move_money(deps, item, settlement, lines, positive=False)
    return _close(deps, item, settlement, lines, refs, rules.Outcome.DEFAULTED, False)


def settle_on_lapse(deps: Deps, item: dict, now: datetime, why: str) -> str:
    """The freeze lapses soon and cannot be renewed: take the rent from it while it lives, release the rest."""
    settlement = rules.settle(store.held(item), int(item["rent"]), int(item.get("deducted_amount", 0)))
    lines = _lines(deps, item, settlement)
    refs = _move_money(deps, item, settlement, lines, positive=None)
    return _close(deps, item, settlement, lines, refs, rules.Outcome.SETTLED, False, note=("settled_on_lapse", why))


def try_buyout(deps: Deps, item: dict) -> str:
    """Right after the buyout is recorded: take it now if the provider answers; else the timer retries."""
    try:
        return settle_buyout(deps, item)
    except Exception:  # noqa: BLE001 - the rental stays closing; its timer re-drives the same request numbers
        logger.exception("buyout settlement failed; the timer will retry it", extra={"rental_id": item["id"]})
        return "retry_later"


def settle_buyout(deps: Deps, item: dict) -> str:
    """closing -> closed bought_out: the accrued rent and the buyout price from the freeze, the rest released,
    reported fulfilled. Amounts fixed when the buyout was recorded, so a retry moves the very same money."""
    if item["status"] != S.CLOSING:
        return "nothing_to_do"
    settlement = rules.settle(
        store.held(item), int(item["buyout_rent"]), int(item.get("deducted_amount", 0)), int(item["buyout_price"])
    )
    lines = _lines(deps, item, settlement, fee="buyout")
    refs = _move_money(deps, item, settlement, lines, positive=True)
    return _close(
        deps,
        item,
        settlement,
        lines,
        refs,
        rules.Outcome.BOUGHT_OUT,
        True,
        days_charged=int(item["buyout_days"]),
        fee="buyout",
    )


def _start_settling(deps: Deps, item: dict, now: datetime, why: str) -> dict | None:
    """Fix the moment of the settlement once (the default's moment; after a return, the end of damage
    recording), so a retried worker computes the very same amounts. Guarded on the deduction count read
    too, so the item returned (without a re-read) holds every damage line recorded before the moment."""
    for _ in range(3):
        uow = UnitOfWork(deps.table, now, "system")
        count = int(item.get("deduction_count", 0))  # none recorded: the attribute may be missing
        uow.update(
            *store.rental_key(item["id"]),
            set={"settle_started_at": iso(now)},
            **expect(
                {"status": item["status"], "deduction_count": (count, ABSENT) if not count else count},
                also="attribute_not_exists(settle_started_at)",
                on_fail=RETRY,
            ),
        )
        if why == "overdue":
            uow.audit(f"rental#{item['id']}", "overdue", after={"settle_started_at": iso(now)}, event="rental.overdue")
        try:
            uow.commit()
            return {**item, "settle_started_at": iso(now)}  # written under the guard on what was read
        except (Retry, DomainError):  # moved on, settling, or a damage line landed: the re-read decides
            pass
        fresh = store.get(deps.table, item["id"])
        if not fresh or fresh["status"] != item["status"]:
            return None
        if fresh.get("settle_started_at"):
            return fresh
        item = fresh  # a damage line was recorded meanwhile: try again with it
    return None


def _request_nos(rental_id: str) -> dict[str, str]:
    return {k: numbers.number(rental_id, k) for k in ("rent", "overdue", "buyout", "release", "fulfil")}


FEE_LINES = {"overdue": ("overdue_fee", "overdue fee"), "buyout": ("buyout", "buyout")}  # number key -> line, text


def _move_money(deps: Deps, item: dict, s: rules.Settlement, lines: list[Line], positive: bool | None) -> list[dict]:
    """The provider calls of a settlement; each idempotent by its request number. Fulfilment is reported
    only for an on-time return (positive True); a late or defaulted rental is never reported as kept.
    Returns, per line, what a later refund of it names (`refund_refs`): the charge the provider answered
    for it (an Alipay capture's trade_no, a Pay Score order whose payment the adapter looks up) and that
    charge's total; a deposit-required rental's lines were kept from the deposit payment."""
    provider, ref, nos = deps.provider(item["provider"]), item["member_ref"], _request_nos(item["id"])
    results: list = []
    taken = [line for line in lines if line.amount]
    if item.get("freeze_ref"):
        results.extend(cancel_unapplied_renewal(deps, item))
        settled = provider.settle_freeze(
            nos["release"], item["freeze_ref"], ref, lines, s.released, fulfilled=positive is True
        )
        results.extend(settled)
        refs = [
            {"no": line.out_request_no, "ref": r.provider_ref or item["freeze_ref"], "total": line.amount}
            for line, r in zip(taken, settled[: len(taken)], strict=True)
        ]  # one result per line taken, in order
    else:
        refs = [
            {
                "no": line.out_request_no,
                "ref": item.get("deposit_ref") or "",
                "total": int(item.get("deposit_amount", 0)),
            }
            for line in taken
        ]
        if s.released:  # deposit-required: rent and fee stay with the merchant, the rest is refunded
            results.append(
                provider.refund(
                    nos["release"],
                    item["deposit_ref"],
                    ref,
                    s.released,
                    charged_total=int(item.get("deposit_amount", 0)),
                )
            )  # WeChat needs it
        if positive is not None:
            results.append(provider.record_fulfilment(nos["fulfil"], ref, positive))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ProviderError(f"the provider refused a settlement step: {failed[0].reason}")
    return refs


def _lines(deps: Deps, item: dict, s: rules.Settlement, fee: str = "overdue") -> list[Line]:
    """What the freeze pays, line by line: operators' deductions (recorded before their capture, so a
    repeat for those the provider already took), then the rent and any overdue fee."""
    lines = []
    if int(item.get("deduction_count", 0)):
        _, facts = store.money_history(deps.table, item["id"])
        lines = [
            Line(f.get("line") or "damage", int(f["amount"]), f["reason"], f["out_request_no"])
            for f in facts
            if f["kind"] == "deduction" and numbers.object_of(f["out_request_no"], "rt", "ded") == item["id"]
        ]
    nos = _request_nos(item["id"])
    if s.rent_charged:
        lines.append(Line("rent", s.rent_charged, "rent", nos["rent"]))
    if s.fee_deducted:
        name, text = FEE_LINES[fee]
        lines.append(Line(name, s.fee_deducted, text, nos[fee]))
    return lines


def _itemised(item: dict, s: rules.Settlement, lines: list[Line], refs: list[dict], days: int) -> dict:
    """The closed rental's `lines` and `discounts` (API.md): what was taken, by name, summing to it; and
    `refund_refs`, one per shown line (in its order, not shown): what a refund of that line names."""
    shown, discounts = rules.itemise(
        int(item["daily_rent"]) * days,
        int(item.get("discount", 0)),
        s.rent_charged,
        [(line.name, line.amount) for line in lines if line.name != "rent"],
    )
    by_no = {r["no"]: r for r in refs}
    taken = [line for line in lines if line.amount]
    ordered = [line for line in taken if line.name == "rent"] + [line for line in taken if line.name != "rent"]
    return {
        "lines": shown,
        "discounts": discounts,
        "refund_refs": [by_no[line.out_request_no] for line in ordered if line.out_request_no in by_no],
    }


def _close(
    deps: Deps,
    item: dict,
    s: rules.Settlement,
    lines: list[Line],
    refs: list[dict],
    outcome: rules.Outcome,
    on_time: bool,
    note: tuple[str, str] | None = None,
    days_charged: int | None = None,
    fee: str = "overdue",
) -> str:
    now = deps.clock.now()
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    rid, nos = item["id"], _request_nos(item["id"])
    days = days_charged or int(item["days"])
    store.stage_move(
        uow,
        item,
        S.CLOSED,
        _AlreadySettled("closed already"),
        set={
            "outcome": str(outcome),
            "rent_charged": s.rent_charged,
            "deducted_amount": s.deducted_total,
            "released_amount": s.released,
            "closed_at": iso(now),
            "exposure_amount": 0,
            "days_charged": days,
            **_itemised(item, s, lines, refs, days),
        },
        remove=store.TIMER_ATTRS,
    )
    facts = [
        ("rent", s.rent_charged, "rent", nos["rent"]),
        ("deduction", s.fee_deducted, fee, nos[fee]),
        ("release", s.released, "refund" if not item.get("freeze_ref") else "release", nos["release"]),
    ]
    # The provider's bill carries a freeze's captures and a deposit's refund. A freeze's release moves no money,
    # nor does what a deposit keeps: that was paid with the deposit (its ledger line is written when secured).
    held_by_freeze = bool(item.get("freeze_ref"))
    for kind, amount, reason, request_no in facts:
        if amount:
            store.stage_money_fact(uow, rid, kind, amount, reason, request_no)
            if (kind != "release") == held_by_freeze:
                ledger.stage_movement(
                    uow, item["provider"], request_no, "refund" if kind == "release" else "capture", amount
                )
    if item.get("freeze_ref"):
        # Every deduction is taken from the freeze by now: with the rent, or (an operator's deduction, by a
        # provider that captures from a live freeze) when it was made, whose ledger line rentals.deduct wrote.
        taken = [line for line in lines if line.name in rules.DAMAGE_LINES]
        booked = ledger.recorded(deps.table, item["provider"], [line.out_request_no for line in taken])
        for line in taken:
            if line.out_request_no not in booked:
                ledger.stage_movement(uow, item["provider"], line.out_request_no, "capture", line.amount)
    if item["status"] == S.INSPECTING:
        store.stage_inspection_done(uow, rid)
    defaulted = outcome == rules.Outcome.DEFAULTED
    if defaulted:  # one member update (a transaction touches an item once); the rental's guard makes
        # this release happen once, so exposure cannot go below what other rentals hold
        members.stage_blacklist(
            uow, item["member_id"], "default", "system", now, default_count=1, exposure=-store.exposure_of(item)
        )
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
    uow.update(
        *store.rental_key(item["id"]), remove=store.TIMER_ATTRS, **expect({"status": item["status"]}, on_fail=RETRY)
    )
    try:
        uow.commit()
    except (Retry, DomainError):  # moved on meanwhile
        pass
