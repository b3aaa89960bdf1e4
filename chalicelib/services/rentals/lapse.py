"""Freeze lapse: a live rental never outlives its freeze. A day before the freeze lapses at the provider,
the rental's remaining security is frozen afresh (renew); if the provider refuses, or has not answered
when the lapse is near, the rental is settled from the still-live freeze (rent taken, the rest released,
outcome `settled`). The audit log says which (`freeze_renewal_requested`, `freeze_renewed`,
`settled_on_lapse`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.errors import ProviderError
from ...log import logger
from ...ports import Deps
from ...providers.base import Notification
from ...store.guards import ABSENT, expect
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from . import store

S = rules.RentalStatus
LAST_CALL = timedelta(hours=1)  # settle when the lapse is this close and no renewal is confirmed


Settle = Callable[[Deps, dict, datetime, str], str]  # settles a rental from its still-live freeze (why)


def handle_lapse(deps: Deps, item: dict, now: datetime, settle: Settle) -> str:
    """The timer of an active, not overdue rental fired: its freeze lapses soon. `settle` is the
    settlement's settle_on_lapse, passed in by the timer (settlement undoes renewals: it imports this)."""
    expires = item.get("freeze_expires_at")
    if not item.get("freeze_ref") or not expires:  # deposit-required: nothing lapses; wake at the default
        return _wait(deps, item, now, store.wake_for(item, S.ACTIVE, now, deps.settings.policy) or now)
    renewal = item.get("renewal_request_no")
    if renewal:
        answer = deps.provider(item["provider"]).query(renewal)
        if answer is not None and answer.status == "succeeded":
            return _commit_renewed(
                deps, item, now, answer.provider_ref, iso(answer.expires_at) if answer.expires_at else None
            )
        if (answer is not None and answer.status == "failed") or now >= parse_iso(expires) - LAST_CALL:
            return settle(
                deps, item, now, "renewal_refused" if answer and answer.status == "failed" else "renewal_unanswered"
            )
        if answer is None:
            ask_renewal(deps, item, now)  # the provider never saw it: ask again (same request number)
        return _wait(deps, item, now, min(now + timedelta(minutes=15), parse_iso(expires) - LAST_CALL))
    return _request_renewal(deps, item, now)


def _request_renewal(deps: Deps, item: dict, now: datetime) -> str:
    """Record the renewal first (so a settlement knows to undo it), then ask the provider."""
    n = int(item.get("renewals", 0)) + 1
    request_no = numbers.number(item["id"], "renew", n)
    remaining = store.held(item) - int(item.get("deducted_amount", 0))
    uow = UnitOfWork(deps.table, now, "system")
    wake = min(
        now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes),
        parse_iso(item["freeze_expires_at"]) - LAST_CALL,
    )
    changes = {"renewal_request_no": request_no, "renewal_amount": remaining, "renewals": n}
    uow.update(
        *store.rental_key(item["id"]),
        set={**changes, **store.timer(item["id"], wake)},
        **expect({"status": S.ACTIVE, "renewal_request_no": ABSENT}, on_fail=RETRY),
    )
    uow.audit(
        f"rental#{item['id']}",
        "freeze_renewal_requested",
        data={"out_request_no": request_no, "amount": remaining, "lapses_at": item["freeze_expires_at"]},
    )
    uow.after_commit(lambda: ask_renewal(deps, {**item, **changes}, now))
    return _commit(uow, "renewal_requested")


def ask_renewal(deps: Deps, item: dict, now: datetime) -> None:
    """The fresh freeze, asked for with the renewal's own request number (a repeat is recognised)."""
    try:
        deps.provider(item["provider"]).freeze(
            item["id"],
            item["renewal_request_no"],
            item["member_ref"],
            int(item["renewal_amount"]),
            f"rental {item['item_id']} (renewed)",
            now + timedelta(days=deps.settings.policy.freeze_lapse_days),
        )
    except Exception:  # noqa: BLE001 - the renewal's timer asks again
        logger.exception("renewal request failed; the timer will ask again", extra={"rental_id": item["id"]})


def cancel_unapplied_renewal(deps: Deps, item: dict) -> list:
    """A rental settling while its renewal is in flight: a renewal freeze that went through is released whole
    (it never secured anything). Raises while the provider has not answered, so the settlement is retried."""
    renewal = item.get("renewal_request_no")
    if not renewal:
        return []
    provider = deps.provider(item["provider"])
    answer = provider.query(renewal)
    if answer is None or answer.status == "failed":
        return []
    if answer.status != "succeeded":
        raise ProviderError("the renewal freeze is still pending with the provider")
    return [
        provider.release(
            numbers.number(item["id"], "renewx", int(item.get("renewals", 0))),
            answer.provider_ref,
            item["member_ref"],
            int(item["renewal_amount"]),
        )
    ]


def stage_renewed(deps: Deps, uow: UnitOfWork, item: dict, ref: str | None, expires_at: str | None) -> None:
    """The fresh freeze holds: it replaces the lapsing one."""
    fresh = {**item, "freeze_expires_at": expires_at}
    wake = store.wake_for(fresh, S.ACTIVE, uow.now, deps.settings.policy)
    uow.update(
        *store.rental_key(item["id"]),
        **set_or_remove(
            {"freeze_ref": ref, "freeze_expires_at": expires_at, **store.timer(item["id"], wake)},
            remove=["renewal_request_no", "renewal_amount"],
        ),
        **expect({"status": S.ACTIVE, "renewal_request_no": item["renewal_request_no"]}, on_fail=RETRY),
    )
    uow.audit(
        f"rental#{item['id']}",
        "freeze_renewed",
        before={"freeze_expires_at": item["freeze_expires_at"]},
        after={"freeze_expires_at": expires_at, "freeze_ref": ref},
        event="rental.freeze_renewed",
    )


def _commit_renewed(deps: Deps, item: dict, now: datetime, ref: str | None, expires_at: str | None) -> str:
    uow = UnitOfWork(deps.table, now, "reconciliation")
    stage_renewed(deps, uow, item, ref, expires_at)
    return _commit(uow, "renewed")


def _wait(deps: Deps, item: dict, now: datetime, wake: datetime) -> str:
    uow = UnitOfWork(deps.table, now, "system")
    uow.update(
        *store.rental_key(item["id"]), set=store.timer(item["id"], wake), **expect({"status": S.ACTIVE}, on_fail=RETRY)
    )
    return _commit(uow, "waiting")


def _commit(uow: UnitOfWork, result: str) -> str:
    try:
        uow.commit()
    except Retry:
        return "nothing_to_do"  # moved on meanwhile (returned, renewed, settled)
    return result


def _renewal_for(deps: Deps, note: Notification) -> dict | None:
    rid = store.rental_id_of(note.out_request_no)
    item = store.get(deps.table, rid) if rid else None
    if not item or item["status"] != S.ACTIVE or item.get("renewal_request_no") != note.out_request_no:
        return None
    return item


def on_renewal_succeeded(deps: Deps, note: Notification, uow: UnitOfWork) -> bool:
    """freeze.succeeded for a renewal request; False when the notification is not a renewal."""
    item = _renewal_for(deps, note)
    if item is None:
        return False
    stage_renewed(
        deps,
        uow,
        item,
        note.provider_ref,
        note.data.get("expires_at") or (note.data.get("data") or {}).get("expires_at"),
    )
    return True


def on_renewal_failed(deps: Deps, note: Notification, uow: UnitOfWork) -> bool:
    """freeze.failed for a renewal: wake the timer now; it settles from the still-live freeze."""
    item = _renewal_for(deps, note)
    if item is None:
        return False
    uow.update(
        *store.rental_key(item["id"]),
        set=store.timer(item["id"], uow.now),
        **expect({"status": S.ACTIVE}, on_fail=RETRY),
    )
    uow.send("rental-timers", {"pk": f"RENTAL#{item['id']}", "sk": "RENTAL"})  # settle now, not at the next sweep
    return True
