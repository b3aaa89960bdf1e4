"""The rest of a rental's life (PRODUCT.md 2a): a member's renewal of the rental (not the provider freeze's
renewal, that is lapse.py) and the buyout. Each state change is one transaction guarded on what was read."""

from __future__ import annotations

from datetime import timedelta

from ...clock import iso, parse_iso
from ...domain import rentals as rules
from ...domain.errors import Forbidden, InvalidState, NotFound
from ...ports import Deps
from ...store.guards import ABSENT, expect
from ...store.uow import RETRY, UnitOfWork
from ..members import members
from . import settlement, store

S = rules.RentalStatus


def renew(deps: Deps, uow: UnitOfWork, member_id: str, rental_id: str, days: int) -> dict:
    """POST /v1/rentals/{id}/renew: the due date moves by `days`, the rent is recomputed for the longer term.
    Only an active rental not yet due; the blacklist and the limit are checked again; the new rent must fit
    in what secures the rental. Round trips: the rental and the member (one BatchGetItem), one transaction."""
    now = uow.now
    got = deps.table.batch_get([store.rental_key(rental_id), members.member_key(member_id)])  # one round trip
    item, member = got.get(store.rental_key(rental_id)), got.get(members.member_key(member_id))
    if not item or item["member_id"] != member_id or not member:
        raise NotFound("rental not found")
    due = parse_iso(item["return_by"])
    if item["status"] != S.ACTIVE or item.get("settle_started_at") or now >= due:
        raise InvalidState("only an active rental can be renewed, before its due date")
    facts = members.facts(member, now, deps.settings.policy)
    if facts.blacklisted:
        raise Forbidden("a blacklisted member cannot renew", code="blacklisted")
    if facts.exposure > facts.limit:
        raise Forbidden("the renewal would go beyond the credit limit", code="credit_limit_exceeded")
    total_days = int(item["days"]) + days
    new_rent = rules.rent(int(item["daily_rent"]), total_days, int(item.get("discount", 0)))
    if not rules.renewal_fits(store.held(item), int(item.get("deducted_amount", 0)), new_rent):
        raise InvalidState(
            f"the rent of {total_days} days ({new_rent} fen) would exceed what is frozen",
            "days",
            code="freeze_insufficient",
        )
    new_due = iso(due + timedelta(days=days))
    changes = {"days": total_days, "rent": new_rent, "return_by": new_due}
    moved = {**item, **changes}
    timer = store.timer(rental_id, store.wake_for(moved, S.ACTIVE, now, deps.settings.policy))
    uow.update(
        *store.rental_key(rental_id),
        set={**changes, **timer, "updated_at": iso(now)},
        add={"renewal_count": 1},
        **expect({"status": S.ACTIVE, "days": item["days"], "settle_started_at": ABSENT}, on_fail=RETRY),
    )
    # the member's guard rides in the same transaction: blacklisted or over the limit meanwhile -> re-decided
    uow.update(
        *members.member_key(member_id),
        add={"renewal_count": 1},
        condition="(attribute_not_exists(blacklisted) OR blacklisted = :no) AND "
        "(attribute_not_exists(exposure) OR exposure <= :lim)",
        values={":no": False, ":lim": facts.limit},
        on_fail=RETRY,
    )
    uow.audit(
        f"rental#{rental_id}",
        "renewed",
        before={"days": item["days"], "due_at": item["return_by"], "rent": item["rent"]},
        after={**changes, "due_at": new_due, "extended_days": days},
        event="rental.renewed",
    )
    return store.view(moved)


def buyout(deps: Deps, uow: UnitOfWork, member_id: str, rental_id: str) -> dict:
    """POST /v1/rentals/{id}/buyout: the member keeps the item for `item_value - rent accrued` (PRODUCT.md 2a).
    The price and rent are fixed once (active -> closing); the provider takes them from the freeze after the
    commit and the rental closes `bought_out`; while the provider has not answered it stays `closing` and the
    timer retries the same request numbers."""
    now = uow.now
    item = store.load(deps.table, rental_id, member_id)
    if item["status"] != S.ACTIVE or item.get("settle_started_at"):
        raise InvalidState(f"only an active rental can be bought out (this one is {item['status']})")
    start = parse_iso(item["return_by"]) - int(item["days"]) * rules.DAY
    days = rules.days_used(start, now, int(item["days"]))
    rent_accrued = rules.rent(int(item["daily_rent"]), days, int(item.get("discount", 0)))
    held, deducted = store.held(item), int(item.get("deducted_amount", 0))
    rent_accrued = min(rent_accrued, held - deducted)
    price = rules.buyout_price(int(item["item_value"]), rent_accrued, held, deducted)
    changes = {
        "buyout_price": price,
        "buyout_rent": rent_accrued,
        "buyout_days": days,
        "buyout_at": iso(now),
        **store.timer(rental_id, now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)),
    }
    store.stage_move(
        uow,
        item,
        S.CLOSING,
        InvalidState("the rental is no longer active"),
        set=changes,
        extra_condition="attribute_not_exists(settle_started_at)",
    )
    closing = {**item, **changes, "status": str(S.CLOSING)}
    uow.after_commit(lambda: settlement.try_buyout(deps, closing))
    return {**store.view(closing), "buyout_price": price}
