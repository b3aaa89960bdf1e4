"""Damage an operator records on a rental (PRODUCT.md 2a): named lines (damage, lost_accessory, cleaning) with
evidence links, kept as deduction facts and taken from the freeze at close (settlement.py takes every
recorded deduction as a line). Only while the rental is active, returned or inspecting and not yet being
settled; the total never goes beyond what is still frozen."""

from __future__ import annotations

from typing import Any

from ...clock import iso
from ...domain import rentals as rules
from ...domain import request_numbers as numbers
from ...domain.errors import InvalidState
from ...ports import Deps
from ...store.guards import ABSENT, expect
from ...store.uow import RETRY, UnitOfWork
from . import store

S = rules.RentalStatus
OPEN = (S.ACTIVE, S.RETURNED, S.INSPECTING)


def record(deps: Deps, uow: UnitOfWork, rental_id: str, lines: list[Any], evidence: list[str]) -> dict:
    """POST /v1/admin/rentals/{id}/damages. Round trips: the rental, then one transaction (the rental's
    guarded counters, one money fact per line, the damage record with its evidence, the audit entry)."""
    item = store.load(deps.table, rental_id)
    if item["status"] not in OPEN or item.get("settle_started_at"):
        raise InvalidState(
            f"damage is recorded while a rental is active, returned or inspecting (this one is {item['status']})"
        )
    total = sum(int(line.amount) for line in lines)
    deducted = int(item.get("deducted_amount", 0))
    still_frozen = store.held(item) - deducted
    if total > still_frozen:
        raise InvalidState(f"at most {still_frozen} fen is still frozen", "lines", code="freeze_insufficient")
    prev = int(item.get("deduction_count", 0))
    shown = []
    for i, line in enumerate(lines, start=prev + 1):
        request_no = numbers.number(rental_id, "ded", i)
        store.stage_money_fact(
            uow, rental_id, "deduction", int(line.amount), line.note or line.name, request_no, line=line.name
        )
        shown.append({"name": line.name, "amount": int(line.amount), "note": line.note, "out_request_no": request_no})
    uow.update(
        *store.rental_key(rental_id),
        add={"deducted_amount": total, "deduction_count": len(lines)},
        set={"updated_at": iso(uow.now)},
        **expect({"status": item["status"], "deduction_count": prev, "settle_started_at": ABSENT}, on_fail=RETRY),
    )
    damage_id = numbers.number(rental_id, "dmg", prev + 1)
    damage = {"id": damage_id, "lines": shown, "evidence": list(evidence), "total": total, "at": iso(uow.now)}
    uow.put(
        {"pk": f"RENTAL#{rental_id}", "sk": f"DAMAGE#{damage_id}", "type": "rental_damage", **damage},
        condition="attribute_not_exists(pk)",
    )
    uow.audit(
        f"rental#{rental_id}",
        "damage_recorded",
        after={"damage_id": damage_id, "lines": shown, "evidence": list(evidence), "total": total},
        event="rental.damage_recorded",
    )
    return {**store.view({**item, "deducted_amount": deducted + total}), "damage": damage}
