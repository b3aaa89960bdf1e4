"""Group-buys: an operator's offer (product, price, group price, team size, window). Members list the
open ones (one Query on the list index, ending after now) and open teams on them (teams.py)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from ...clock import iso, parse_iso
from ...domain import group_buys as rules
from ...domain.errors import NotFound
from ...ports import Deps
from ...store.uow import UnitOfWork
from ..risk import scenarios
from ..risk.scenarios import scenario_key

LIST_PK = "group_buys"  # list index: list_sk = "<ends_at>#<id>", so ended ones sort before now


def group_buy_key(gb_id: str) -> tuple[str, str]:
    return f"GROUPBUY#{gb_id}", "GROUPBUY"


FIELDS = (
    "id",
    "product_id",
    "title",
    "price",
    "group_price",
    "team_size",
    "per_member_limit",
    "team_hours",
    "starts_at",
    "ends_at",
    "scenario",
    "trial_days",
    "virtual_fill",
    "new_members_only",
    "created_at",
)


def view(item: dict) -> dict:
    return {k: item.get(k) for k in FIELDS}


def create(deps: Deps, uow: UnitOfWork, body: Any) -> dict:
    """Validate the terms (400 naming the field) and write the group-buy."""
    starts, ends = body.starts_at, body.ends_at
    rules.check_terms(
        body.price, body.group_price, body.team_size, body.per_member_limit, body.team_hours, starts, ends
    )
    scenarios.require(deps.table.get(*scenario_key(body.scenario)), body.scenario)
    gb_id = f"gb_{secrets.token_hex(8)}"
    item = {
        "pk": group_buy_key(gb_id)[0],
        "sk": "GROUPBUY",
        "type": "group_buy",
        "id": gb_id,
        "product_id": body.product_id,
        "title": body.title,
        "price": body.price,
        "group_price": body.group_price,
        "team_size": body.team_size,
        "per_member_limit": body.per_member_limit,
        "team_hours": body.team_hours,
        "starts_at": iso(starts),
        "ends_at": iso(ends),
        "scenario": body.scenario,
        "trial_days": body.trial_days,
        "virtual_fill": body.virtual_fill,
        "new_members_only": body.new_members_only,
        "created_at": iso(uow.now),
        "list_pk": LIST_PK,
        "list_sk": f"{iso(ends)}#{gb_id}",
    }
    uow.put(item, condition="attribute_not_exists(pk)")
    uow.audit(
        f"group_buy#{gb_id}",
        "created",
        after={"team_size": body.team_size, "group_price": body.group_price},
        event="group_buy.created",
    )
    return view(item)


def live(item: dict, now: datetime) -> bool:
    return parse_iso(item["starts_at"]) <= now < parse_iso(item["ends_at"])


def list_open(deps: Deps, now: datetime) -> list[dict]:
    """Group-buys running now: one Query for those not ended; the not-yet-started are left out."""
    items = deps.table.query("list_pk = :p AND list_sk > :now", {":p": LIST_PK, ":now": iso(now)}, index="list")
    return [view(i) for i in items if live(i, now)]


def get(deps: Deps, gb_id: str) -> dict:
    item = deps.table.get(*group_buy_key(gb_id))
    if not item:
        raise NotFound("no such group-buy")
    return item
