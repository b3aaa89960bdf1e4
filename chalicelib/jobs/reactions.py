"""Reactions to domain events: the outbox worker hands every published entry here first (at least once,
so each reaction is idempotent). The one table of which event moves what; it sits in jobs/, above the
areas, so an order or a rental never reaches into growth."""

from __future__ import annotations

from typing import Callable

from ..clock import parse_iso
from ..ports import Deps
from ..services.growth import referrals

Reaction = Callable[[Deps, dict], None]


def _order_charged(deps: Deps, entry: dict) -> None:
    order = referrals.member_of(deps, entry["entity_id"])
    if order and order.get("kind") == "pay_later":
        referrals.on_first_success(deps, order["member_id"], parse_iso(entry["at"]), entry["entity_id"])


def _rental_closed(deps: Deps, entry: dict) -> None:
    rental = referrals.member_of(deps, entry["entity_id"])
    if not rental:
        return
    at = parse_iso(entry["at"])
    if rental.get("outcome") == "defaulted":
        referrals.on_refund_or_default(deps, rental["member_id"], at, entry["entity_id"])
        return
    returned, due = rental.get("returned_at"), rental.get("return_by")
    if rental.get("outcome") == "returned" and returned and due and parse_iso(returned) <= parse_iso(due):
        referrals.on_first_success(deps, rental["member_id"], at, entry["entity_id"])


def _refund_or_default(deps: Deps, entry: dict) -> None:
    obj = referrals.member_of(deps, entry["entity_id"])
    if obj:
        referrals.on_refund_or_default(deps, obj["member_id"], parse_iso(entry["at"]), entry["entity_id"])


REACTIONS: dict[str, Reaction] = {
    "order.charged": _order_charged,
    "rental.closed": _rental_closed,
    "order.refunded": _refund_or_default,
    "order.past_due": _refund_or_default,
}


def react(deps: Deps, entry: dict) -> None:
    reaction = REACTIONS.get(entry.get("event_type", ""))
    if reaction:
        reaction(deps, entry)
