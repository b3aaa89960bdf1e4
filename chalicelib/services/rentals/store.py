"""Rental items: keys, reads, the API view, timers and money facts (shared by the rental use cases).

The rental's contractual return date is stored as `return_by` (shown as `due_at` in the API):
the item's `due_at` attribute belongs to the sparse timer index (next wake-up), not to the contract.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.errors import NotFound
from ...domain.policy import Policy
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import UnitOfWork

LAPSE_MARGIN = timedelta(days=1)
INSPECTION_MARGIN = timedelta(hours=1)  # an inspection hold ends this long before the freeze lapses
TIMER_ATTRS = ["due_pk", "due_at"]
WAITING_FOR_USER = (rules.RentalStatus.PENDING_FREEZE, rules.RentalStatus.AWAITING_DEPOSIT)
KIND_ORDER = {"deduction": 0, "rent": 1, "release": 2}


def rental_key(rental_id: str) -> tuple[str, str]:
    return f"RENTAL#{rental_id}", "RENTAL"


def rental_id_of(out_request_no: str | None) -> str | None:
    """Our request numbers are `<rental_id>_<purpose>[<n>]` (domain/request_numbers.py)."""
    return numbers.object_of(out_request_no, "rt")


def get(table: Any, rental_id: str) -> dict | None:
    return table.get(*rental_key(rental_id))


def load(table: Any, rental_id: str, member_id: str | None = None) -> dict:
    """The rental; another member's (or none) is a 404."""
    item = get(table, rental_id)
    if not item or (member_id is not None and item["member_id"] != member_id):
        raise NotFound("rental not found")
    return item


def held(item: dict) -> int:
    """What secures the rental: the frozen amount or the deposit."""
    return int(item.get("frozen_amount", 0)) + int(item.get("deposit_amount", 0))


def exposure_of(item: dict) -> int:
    """What the rental adds to the member's exposure (deposit-free freezes; reviews while pending)."""
    return int(item.get("exposure_amount", 0))


def timer(item_id: str, wake: datetime | None) -> dict:
    """Attributes putting a rental on (or, with None, taking it off: see uow.set_or_remove) the sparse `due` index."""
    if wake is None:
        return {"due_pk": None, "due_at": None}
    return {"due_pk": f"timer#rental#{shard_of(item_id)}", "due_at": iso(wake)}


def wake_for(
    item: dict, status: str, now: datetime, policy: Policy, freeze_expires_at: str | None = None
) -> datetime | None:
    """Next wake-up of a rental entering `status`."""
    if status == rules.RentalStatus.RETURNED:
        return now + timedelta(minutes=policy.reconcile_after_minutes)  # safety net if the message is lost
    expires = freeze_expires_at or item.get("freeze_expires_at")
    return rules.next_wake(
        status,
        now,
        due=parse_iso(item["return_by"]),
        grace_days=policy.grace_days,
        freeze_expires_at=parse_iso(expires) if expires else None,
        lapse_margin=LAPSE_MARGIN,
        reconcile_after=timedelta(minutes=policy.reconcile_after_minutes),
    )


def stage_move(
    uow: UnitOfWork,
    item: dict,
    target: rules.RentalStatus,
    on_fail: Any,
    *,
    set: dict | None = None,
    add: dict | None = None,
    remove: list[str] | None = None,
    extra_condition: str = "",
    values: dict | None = None,
) -> None:
    """The one conditional status write: only from the status the caller read."""
    rules.transition(item["status"], target)
    uow.update(
        *rental_key(item["id"]),
        set={"status": str(target), "updated_at": iso(uow.now), **(set or {})},
        add=add,
        remove=remove,
        **expect({"status": item["status"]}, also=extra_condition, values=values, on_fail=on_fail),
    )
    uow.audit(
        f"rental#{item['id']}",
        str(target),
        before={"status": item["status"]},
        after={"status": str(target), **{k: v for k, v in (set or {}).items() if k not in TIMER_ATTRS}},
        event=f"rental.{target}",
    )


def stage_money_fact(
    uow: UnitOfWork,
    rental_id: str,
    kind: str,
    amount: int,
    reason: str,
    out_request_no: str | None,
    line: str | None = None,
) -> None:
    """Append one money fact (rent, deduction, release, buyout, refund); the ledger is never edited in place.
    `line`: the named line a deduction is shown as (damage, lost_accessory, cleaning; default damage)."""
    at = iso(uow.now)
    uow.put(
        {
            "pk": f"RENTAL#{rental_id}",
            "sk": f"MONEY#{at}#{out_request_no or kind}",
            "type": "rental_money",
            "kind": kind,
            "amount": amount,
            "reason": reason,
            "out_request_no": out_request_no,
            "at": at,
            **({"line": line} if line else {}),
        },
        condition="attribute_not_exists(pk)",
    )


INSPECTING_LIST = "rental#inspecting"


def stage_inspection_marker(uow: UnitOfWork, item: dict, until: str) -> None:
    """A rental in inspection on the sparse `list` index (the operators' dashboard lists them by end)."""
    uow.put(
        {
            "pk": f"RENTAL#{item['id']}",
            "sk": "INSPECTION",
            "type": "rental_inspection",
            "rental_id": item["id"],
            "member_id": item["member_id"],
            "scenario": item["scenario"],
            "inspection_until": until,
            "list_pk": INSPECTING_LIST,
            "list_sk": f"{until}#{item['id']}",
        }
    )


def stage_inspection_done(uow: UnitOfWork, rental_id: str) -> None:
    uow.delete(f"RENTAL#{rental_id}", "INSPECTION")


def money_history(table: Any, rental_id: str) -> tuple[dict | None, list[dict]]:
    """The rental and its money facts in one Query."""
    rental, facts = None, []
    for it in table.query("pk = :p", {":p": f"RENTAL#{rental_id}"}):
        if it["sk"] == "RENTAL":
            rental = it
        elif it["sk"].startswith("MONEY#"):
            facts.append({k: it.get(k) for k in ("kind", "amount", "reason", "out_request_no", "at", "line")})
    return rental, sorted(facts, key=lambda f: (f["at"], KIND_ORDER.get(f["kind"], 9)))


def view(item: dict) -> dict:
    """The API shape of a rental."""
    closed = item["status"] == rules.RentalStatus.CLOSED
    return {
        "id": item["id"],
        "decision": item["decision"],
        "reason": item.get("reason"),
        "status": item["status"],
        "scenario": item["scenario"],
        "item_id": item["item_id"],
        "item_value": item["item_value"],
        "daily_rent": item["daily_rent"],
        "days": item["days"],
        "rent": item["rent"],
        "discount": item.get("discount", 0),
        "coupon_id": item.get("coupon_id"),
        "frozen_amount": item.get("frozen_amount", 0),
        "deposit_amount": item.get("deposit_amount", 0),
        "due_at": item["return_by"],
        "created_at": item["created_at"],
        "freeze_expires_at": item.get("freeze_expires_at"),
        "returned_at": item.get("returned_at"),
        "inspection_until": item.get("inspection_until"),
        "dispute_id": item.get("dispute_id"),
        "dispute_status": item.get("dispute_status"),
        "refunded_amount": int(item.get("refunded_amount", 0)),
        "closed_at": item.get("closed_at"),
        "outcome": item.get("outcome") if closed else None,
        "rent_charged": item.get("rent_charged") if closed else None,
        "deducted_amount": int(item.get("deducted_amount", 0)),
        "released_amount": item.get("released_amount") if closed else None,
        **({"buyout_price": item["buyout_price"]} if item.get("buyout_price") is not None else {}),
        "lines": item.get("lines") if closed else None,
        "discounts": item.get("discounts") if closed else None,
        **(
            {"provider_params": item["provider_params"]}  # what the mini-program opens to secure it
            if item.get("provider_params") and item["status"] in WAITING_FOR_USER
            else {}
        ),
    }


def list_for(table: Any, member_id: str, limit: int = 100) -> list[dict]:
    """The member's rentals, newest first (the sparse `list` index)."""
    items = table.query("list_pk = :p", {":p": f"member#{member_id}#rental"}, index="list", forward=False, limit=limit)
    return [view(i) for i in items]
