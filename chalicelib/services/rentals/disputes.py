"""A member's dispute of what a closed rental took (PRODUCT.md 2a): within 7 days of close, once per rental,
into the review queue (kind "dispute") with the damage evidence and a 7-day answer deadline. Upheld: the
disputed lines are refunded through the provider exactly once (deterministic request numbers, the dispute
`refunding` until every refund succeeded, re-driven by the rental timer); rejected: the charge stands."""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.errors import DomainError, InvalidState, NotFound, ProviderError
from ...log import logger
from ...ports import Deps
from ...store.guards import ABSENT, expect
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from ..ops import ledger
from ..risk import reviews
from . import store

S = rules.RentalStatus
DISPUTABLE = frozenset({"overdue_fee", *rules.DAMAGE_LINES})  # rent and a buyout are what the member chose
OPEN_LIST = "dispute#open"


def dispute_id(rental_id: str) -> str:
    """One dispute per rental; `dispute_<rental id>` also tells the review resolver its subject."""
    return f"dispute_{rental_id}"


def dispute_key(rental_id: str) -> tuple[str, str]:
    return f"RENTAL#{rental_id}", "DISPUTE"


def open_dispute(deps: Deps, uow: UnitOfWork, member_id: str, rental_id: str, reason: str) -> dict:
    """POST /v1/rentals/{id}/disputes. Round trips: the rental and its damage records (one Query), then one
    transaction (the rental's guard, the dispute, the review, the audit entries)."""
    now, policy = uow.now, deps.settings.policy
    rental, damages = _rental_and_damages(deps, rental_id)
    if rental is None or rental["member_id"] != member_id:
        raise NotFound("rental not found")
    if rental["status"] != S.CLOSED:
        raise InvalidState(f"only a closed rental can be disputed (this one is {rental['status']})")
    if now > parse_iso(rental["closed_at"]) + timedelta(days=policy.dispute_days):
        raise InvalidState(f"a rental is disputed within {policy.dispute_days} days of its close")
    if rental.get("dispute_id"):
        raise InvalidState("this rental was disputed already")
    did, respond_by = dispute_id(rental_id), iso(now + timedelta(days=policy.dispute_answer_days))
    lines = [line for line in rental.get("lines") or [] if line["name"] in DISPUTABLE]
    amount = sum(int(line["amount"]) for line in lines)
    evidence = [url for d in damages for url in d.get("evidence", [])]
    dispute = {
        "id": did,
        "rental_id": rental_id,
        "status": "open",
        "reason": reason,
        "lines": lines,
        "amount": amount,
        "evidence": evidence,
        "respond_by": respond_by,
        "created_at": iso(now),
    }
    uow.update(
        *store.rental_key(rental_id),
        set={"dispute_id": did, "dispute_status": "open", "updated_at": iso(now)},
        **expect({"status": S.CLOSED, "dispute_id": ABSENT}, on_fail=InvalidState("this rental was disputed already")),
    )
    uow.put(
        {
            "pk": dispute_key(rental_id)[0],
            "sk": "DISPUTE",
            "type": "rental_dispute",
            **dispute,
            "list_pk": OPEN_LIST,
            "list_sk": f"{respond_by}#{did}",
        },
        condition="attribute_not_exists(pk)",
    )
    reviews.stage_open(
        uow,
        "dispute",
        did,
        member_id,
        "rental_dispute",
        evidence={
            "subject": "rental",
            "rental_id": rental_id,
            "reason": reason,
            "lines": lines,
            "amount": amount,
            "links": evidence,
            "respond_by": respond_by,
        },
    )
    uow.audit(
        f"rental#{rental_id}",
        "disputed",
        after={"dispute_id": did, "reason": reason, "amount": amount, "respond_by": respond_by},
        event="rental.disputed",
    )
    return dispute


def _rental_and_damages(deps: Deps, rental_id: str) -> tuple[dict | None, list[dict]]:
    rental, damages = None, []
    for it in deps.table.query("pk = :p", {":p": f"RENTAL#{rental_id}"}):
        if it["sk"] == "RENTAL":
            rental = it
        elif it["sk"].startswith("DAMAGE#"):
            damages.append(it)
    return rental, damages


def resolve(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """The review resolver of a rental dispute (in the operator's transaction). Upheld: `refunding`, the
    refunds are made after the commit and re-driven by the rental timer until they succeed."""
    rental_id = review["ref_id"].removeprefix("dispute_")
    status = "refunding" if approved else "rejected"
    timer = store.timer(
        rental_id, uow.now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes) if approved else None
    )
    uow.update(
        *store.rental_key(rental_id),
        **set_or_remove({"dispute_status": status, **timer}),
        **expect({"dispute_status": "open"}, on_fail=InvalidState("the dispute was answered already")),
    )
    uow.update(
        *dispute_key(rental_id), set={"status": status, "answered_at": iso(uow.now)}, remove=["list_pk", "list_sk"]
    )
    uow.audit(
        f"rental#{rental_id}",
        f"dispute_{'upheld' if approved else 'rejected'}",
        after={"dispute_id": review["ref_id"], "status": status},
        event="rental.dispute_answered",
    )
    if approved:
        uow.after_commit(lambda: try_refund(deps, rental_id))


def try_refund(deps: Deps, rental_id: str) -> str:
    try:
        return refund(deps, rental_id)
    except Exception:  # noqa: BLE001 - the rental timer re-drives the same request numbers
        logger.exception("dispute refund failed; the timer will retry it", extra={"rental_id": rental_id})
        return "retry_later"


def refund_refs(rental: dict, dispute: dict) -> list[dict]:
    """What each disputed line's refund names at the provider: the charge that took it (`refund_refs`,
    stored by the settlement one per shown line, in order). A rental closed before they were stored: the
    freeze or deposit reference, right for the sandbox only."""
    shown, refs = rental.get("lines") or [], rental.get("refund_refs")
    if refs is None:
        fallback = {"ref": rental.get("freeze_ref") or rental.get("deposit_ref"), "total": None}
        return [fallback for _ in dispute["lines"]]
    if len(refs) != len(shown):
        raise ProviderError(f"rental {rental['id']}: its refund references do not match its lines")
    picked = [ref for line, ref in zip(shown, refs, strict=True) if line["name"] in DISPUTABLE]
    if len(picked) != len(dispute["lines"]):
        raise ProviderError(f"rental {rental['id']}: its refund references do not match the disputed lines")
    return picked


def refund(deps: Deps, rental_id: str) -> str:
    """Refund every disputed line through the charge that took it (each by its own request number `_dref<n>`:
    a repeat is the same refund at the provider), then record it once under the `refunding` guard. While
    the provider has not answered every one (pending, or a Pay Score order not paid yet), the rental's
    timer is moved on and re-drives the same numbers."""
    rental = store.get(deps.table, rental_id)
    dispute = deps.table.get(*dispute_key(rental_id))
    if not rental or not dispute or rental.get("dispute_status") != "refunding":
        return "nothing_to_do"
    provider = deps.provider(rental["provider"])
    results = []
    for i, (line, ref) in enumerate(zip(dispute["lines"], refund_refs(rental, dispute), strict=True), start=1):
        if int(line["amount"]):
            results.append(
                provider.refund(
                    numbers.number(rental_id, "dref", i),
                    ref["ref"],
                    rental["member_ref"],
                    int(line["amount"]),
                    charged_total=ref["total"],
                )
            )
    if not all(r.ok for r in results):
        _later(deps, rental_id)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise ProviderError(f"the provider refused a dispute refund: {failed[0].reason}")
        return "pending"
    now = deps.clock.now()
    amount = int(dispute["amount"])
    uow = UnitOfWork(deps.table, now, "system")
    uow.update(
        *store.rental_key(rental_id),
        set={"dispute_status": "upheld", "refunded_amount": amount},
        remove=store.TIMER_ATTRS,
        **expect({"dispute_status": "refunding"}, on_fail=RETRY),
    )
    uow.update(*dispute_key(rental_id), set={"status": "upheld", "refunded_amount": amount, "refunded_at": iso(now)})
    for i, line in enumerate(dispute["lines"], start=1):
        if int(line["amount"]):
            store.stage_money_fact(
                uow,
                rental_id,
                "refund",
                int(line["amount"]),
                f"dispute: {line['name']}",
                numbers.number(rental_id, "dref", i),
            )
            ledger.stage_movement(
                uow, rental["provider"], numbers.number(rental_id, "dref", i), "refund", int(line["amount"])
            )  # matched against the provider's bill
    uow.audit(
        f"rental#{rental_id}",
        "dispute_refunded",
        after={"dispute_id": dispute["id"], "amount": amount},
        event="rental.dispute_refunded",
    )
    try:
        uow.commit()
    except (Retry, DomainError):  # another delivery recorded it first
        return "nothing_to_do"
    return "refunded"


def _later(deps: Deps, rental_id: str) -> None:
    """Move the timer of a refund not done yet on (one wait), while the dispute is still refunding."""
    now = deps.clock.now()
    uow = UnitOfWork(deps.table, now, "system")
    uow.update(
        *store.rental_key(rental_id),
        set=store.timer(rental_id, now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)),
        **expect({"dispute_status": "refunding"}, on_fail=RETRY),
    )
    try:
        uow.commit()
    except (Retry, DomainError):  # recorded meanwhile
        pass


def attention(table: object, now: datetime, limit: int = 200) -> dict:
    """The operators' dashboard: rentals held for inspection (soonest end first) and open rental disputes
    (soonest deadline first), an unanswered one past `respond_by` flagged overdue. Two Queries on the
    sparse `list` index."""
    q = table.query  # type: ignore[attr-defined]
    inspecting = [
        {k: it.get(k) for k in ("rental_id", "member_id", "scenario", "inspection_until")}
        for it in q("list_pk = :p", {":p": store.INSPECTING_LIST}, index="list", limit=limit)
    ]
    disputes = [
        {
            **{k: it.get(k) for k in ("id", "rental_id", "reason", "amount", "respond_by", "created_at")},
            "overdue": parse_iso(it["respond_by"]) < now,
        }
        for it in q("list_pk = :p", {":p": OPEN_LIST}, index="list", limit=limit)
    ]
    return {
        "inspecting": inspecting,
        "disputes": disputes,
        "overdue_disputes": sum(1 for x in disputes if x["overdue"]),
    }
