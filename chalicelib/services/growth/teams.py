"""Group-buy teams: open (the leader's seat) and join (by share code), each ONE transaction.

A seat is a pay-later order at group_price × quantity decided by the shared pipeline (orders.create),
written `held`: no charge timer while the team is open. The join's write on the team is conditional on
`open`, seats < size, before the deadline and member / device / provider account not yet seated, so under
any concurrency a team never holds more seats than its size nor a member two seats. A lost condition is a
Retry: the route re-reads and answers the precise code (team_full, already_in_team, ...).

Items: the team (TEAM#<share code>; sparse `due` timer at its deadline), one lock per member and group-buy
(GROUPBUY#<id> / MEMBER#<id>: one open team per member per group-buy) and the device's recent joins
(GBDEVICE#<device>: 3+ joins within an hour go to review). Round trips of a join: GetItem (team),
BatchGetItem (member, scenario, device, device joins, group-buy, lock), TransactWriteItems.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...clock import iso, parse_iso
from ...domain import group_buys as rules
from ...domain import orders as order_rules
from ...domain.decision import Decision, Outcome
from ...domain.errors import DomainError, Forbidden, InvalidState, NotFound
from ...ports import Deps
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import RETRY, UnitOfWork, set_or_remove
from ..members import members
from ..members.members import member_key
from ..orders import closing, orders, pay_later
from ..risk import decisions, scenarios
from ..risk.scenarios import scenario_key
from . import group_buys, stats
from .group_buys import group_buy_key

QUEUE = "team-timers"
TIMER_KIND = "team"


class Rejected(DomainError):
    """The seat's order was rejected by the decision pipeline: nothing is written."""

    code = "rejected"
    status = 409


def team_key(code: str) -> tuple[str, str]:
    return f"TEAM#{code}", "TEAM"


def lock_key(gb_id: str, member_id: str) -> tuple[str, str]:
    return f"GROUPBUY#{gb_id}", f"MEMBER#{member_id}"


def device_key(device_id: str) -> tuple[str, str]:
    return f"GBDEVICE#{device_id}", "GBDEVICE"


def due_pk(code: str) -> str:
    return f"timer#{TIMER_KIND}#{shard_of(code)}"


@dataclass(frozen=True)
class SeatOrder:
    """What orders.create reads of a request body."""

    scenario: str
    amount: int
    trial_days: int | None
    kind: str = "pay_later"
    installments: None = None
    coupon_id: None = None


def status_of(team: dict) -> str:
    """Every seat taken counts as full at once (the worker then settles the seats)."""
    if team["status"] == rules.TeamStatus.OPEN and int(team["seats"]) >= int(team["size"]):
        return str(rules.TeamStatus.FULL)
    return str(team["status"])


def seats_of(team: dict) -> list[dict]:
    seats = [{"member_id": m, **s} for m, s in (team.get("seat_orders") or {}).items()]
    seats.sort(key=lambda s: (s["at"], s["member_id"]))
    return [{"member_id": s["member_id"], "order_id": s["order_id"], "quantity": int(s["quantity"])} for s in seats]


def view(team: dict) -> dict:
    return {
        "id": team["id"],
        "share_code": team["share_code"],
        "group_buy_id": team["group_buy_id"],
        "status": status_of(team),
        "size": int(team["size"]),
        "seats": seats_of(team),
        "expires_at": team["expires_at"],
        "leader_id": team["leader_id"],
        "group_price": int(team["group_price"]),
        "created_at": team["created_at"],
        "closed_at": team.get("closed_at"),
    }


def load(deps: Deps, raw_code: str) -> dict:
    code = rules.normalize_code(raw_code)
    team = deps.table.get(*team_key(code)) if code else None
    if not team:
        raise NotFound("no such team")
    return team


@dataclass
class _Read:
    inputs: decisions.Inputs
    group_buy: dict
    lock: dict | None
    device_joins: list[datetime]
    device_item: dict | None


def _read(deps: Deps, member_id: str, gb_id: str, scenario: str, device_id: str | None) -> _Read:
    """One BatchGetItem for everything the seat's decision and the abuse rules need."""
    keys = [member_key(member_id), group_buy_key(gb_id), lock_key(gb_id, member_id), scenario_key(scenario)]
    if device_id:
        keys += [(f"DEVICE#{device_id}", "DEVICE"), device_key(device_id)]
    found = deps.table.batch_get(keys)
    member = found.get(member_key(member_id))
    if not member:
        raise NotFound("member not found")
    gb = found.get(group_buy_key(gb_id))
    if not gb:
        raise NotFound("no such group-buy")
    scenario_item = scenarios.require(found.get(scenario_key(scenario)), scenario)
    device = found.get((f"DEVICE#{device_id}", "DEVICE")) if device_id else None
    dev_joins = found.get(device_key(device_id)) if device_id else None
    joins = [parse_iso(t) for t in (dev_joins or {}).get("joins", [])]
    inputs = decisions.Inputs(member, scenario_item, len((device or {}).get("members", set())), None)
    return _Read(inputs, gb, found.get(lock_key(gb_id, member_id)), joins, dev_joins)


def _require_member_may_join(read: _Read, now: datetime) -> None:
    member = read.inputs.member
    if member.get("blacklisted"):
        raise Forbidden("blacklisted members cannot join a group-buy")
    created = member.get("created_at")
    if not created or rules.account_too_young(parse_iso(created), now):
        raise Forbidden("accounts younger than 24 hours cannot join a group-buy", code="forbidden")
    _require_new_member(read)


def _require_new_member(read: _Read) -> None:
    if read.group_buy.get("new_members_only") and int(read.inputs.member.get("order_count", 0)) > 0:
        raise Forbidden("this group-buy is for new members only")


def _require_no_open_team(read: _Read) -> None:
    if read.lock and read.lock.get("open"):
        raise InvalidState("you already have an open team in this group-buy", code="already_in_team")


def _stage_seat(
    deps: Deps,
    uow: UnitOfWork,
    read: _Read,
    member_id: str,
    device_id: str | None,
    code: str,
    quantity: int,
    oid: str,
    overrule: Any = None,
) -> dict:
    """The seat's order through the shared pipeline; a rejection writes nothing (409 rejected)."""
    gb = read.group_buy
    rules.check_quantity(quantity, int(gb["per_member_limit"]))
    body = SeatOrder(
        gb["scenario"],
        int(gb["group_price"]) * quantity,
        int(gb["trial_days"]) if gb.get("trial_days") is not None else None,
    )
    seat = {"team_code": code, "team_state": str(rules.SeatState.OPEN), "group_buy_id": gb["id"], "quantity": quantity}
    order = orders.create(deps, uow, member_id, device_id, body, oid, inputs=read.inputs, seat=seat, overrule=overrule)
    if order["decision"] == Outcome.REJECTED:
        raise Rejected(f"the seat's order was rejected: {order['reason']}", code="rejected")
    # one open team per member per group-buy: the lock is free (never taken, or its team has closed)
    uow.put(
        {
            "pk": lock_key(gb["id"], member_id)[0],
            "sk": lock_key(gb["id"], member_id)[1],
            "type": "team_lock",
            "team_code": code,
            "open": True,
            "at": iso(uow.now),
        },
        condition="attribute_not_exists(pk) OR #o = :f",
        names={"#o": "open"},
        values={":f": False},
        on_fail=RETRY,
    )
    return order


def open_team(
    deps: Deps, uow: UnitOfWork, member_id: str, gb_id: str, device_id: str | None, quantity: int, oid: str
) -> dict:
    """The caller leads a new team and holds its first seat."""
    now = uow.now
    gb = group_buys.get(deps, gb_id)
    read = _read(deps, member_id, gb_id, gb["scenario"], device_id)
    if not group_buys.live(read.group_buy, now):
        raise InvalidState("this group-buy is not running")
    _require_new_member(read)
    _require_no_open_team(read)
    code = rules.new_share_code()
    order = _stage_seat(deps, uow, read, member_id, device_id, code, quantity, oid)
    expires = rules.team_deadline(now, int(gb["team_hours"]), parse_iso(gb["ends_at"]))
    member = read.inputs.member
    team = {
        "pk": team_key(code)[0],
        "sk": "TEAM",
        "type": "team",
        "id": f"tm_{secrets.token_hex(8)}",
        "share_code": code,
        "group_buy_id": gb_id,
        "leader_id": member_id,
        "size": int(gb["team_size"]),
        "group_price": int(gb["group_price"]),
        "scenario": gb["scenario"],
        "virtual_fill": bool(gb.get("virtual_fill")),
        "status": str(rules.TeamStatus.OPEN),
        "seats": 1,
        "members": {member_id},
        "accounts": {_account(member)},
        "seat_orders": {
            member_id: {
                "order_id": order["id"],
                "at": iso(now),
                "quantity": quantity,
                "device": device_id,
                "account": _account(member),
            }
        },
        "expires_at": iso(expires),
        "created_at": iso(now),
        "band": members.band(member, now),
        "due_pk": due_pk(code),
        "due_at": iso(expires),
        "list_pk": f"group_buy#{gb_id}#team",
        "list_sk": f"{iso(now)}#{code}",
    }
    if device_id:
        team["devices"] = {device_id}
    uow.put(team, condition="attribute_not_exists(pk)", on_fail=RETRY)  # a code collision: draw again
    uow.audit(
        f"team#{team['id']}",
        "opened",
        after={"status": "open", "size": team["size"]},
        data={"share_code": code, "group_buy_id": gb_id, "member_id": member_id, "order_id": order["id"]},
        event="team.opened",
    )
    stats.stage_team(uow, now.strftime("%Y-%m-%d"), "opened", team["band"], gb_id)
    return view(team)


def _account(member: dict) -> str:
    return f"{member['provider']}:{member['provider_user_id']}"


def join(
    deps: Deps, uow: UnitOfWork, member_id: str, raw_code: str, device_id: str | None, quantity: int, oid: str
) -> dict:
    """Take a seat in someone's team (409 team_full, team_closed, already_in_team, own_team,
    device_in_team; 403 blacklisted or younger than 24 h)."""
    now = uow.now
    team = load(deps, raw_code)
    code = team["share_code"]
    if team["status"] != rules.TeamStatus.OPEN or now >= parse_iso(team["expires_at"]):
        raise InvalidState("this team is closed", code="team_closed")
    if int(team["seats"]) >= int(team["size"]):
        raise InvalidState("this team is full", code="team_full")
    if member_id == team["leader_id"]:
        raise InvalidState("you lead this team", code="own_team")
    if member_id in team.get("members", set()):
        raise InvalidState("you already hold a seat in this team", code="already_in_team")
    if device_id and device_id in team.get("devices", set()):
        raise InvalidState("this device already holds a seat in this team", code="device_in_team")
    read = _read(deps, member_id, team["group_buy_id"], team["scenario"], device_id)
    _require_member_may_join(read, now)
    account = _account(read.inputs.member)
    if account in team.get("accounts", set()):
        raise InvalidState("this provider account already holds a seat in this team", code="already_in_team")
    _require_no_open_team(read)
    recent = rules.recent_device_joins(read.device_joins, now) if device_id else []
    to_review = bool(device_id) and rules.device_goes_to_review(len(recent))

    def overrule(decision: Decision) -> Decision:
        if to_review and decision.outcome == Outcome.APPROVED:
            return Decision(Outcome.REVIEW, f"risk_rule:{rules.DEVICE_RULE}")
        return decision

    order = _stage_seat(deps, uow, read, member_id, device_id, code, quantity, oid, overrule)
    seat = {"order_id": order["id"], "at": iso(now), "quantity": quantity, "device": device_id, "account": account}
    cond = "seats < #size AND expires_at > :now AND NOT contains(members, :m) AND NOT contains(accounts, :a)"
    values: dict[str, Any] = {":now": iso(now), ":m": member_id, ":a": account, ":seat": seat}
    adds: dict[str, Any] = {"seats": 1, "members": {member_id}, "accounts": {account}}
    if device_id:
        cond += " AND NOT contains(devices, :d)"
        values[":d"] = device_id
        adds["devices"] = {device_id}
    uow.update(
        team["pk"],
        team["sk"],
        set_raw=["seat_orders.#mid = :seat"],
        add=adds,
        **expect(
            {"status": rules.TeamStatus.OPEN},
            also=cond,
            values=values,
            names={"#mid": member_id, "#size": "size"},
            on_fail=RETRY,
        ),
    )
    if device_id:
        _stage_device_join(uow, device_id, read.device_item, recent, now)
    uow.audit(
        f"team#{team['id']}",
        "joined",
        data={"share_code": code, "member_id": member_id, "order_id": order["id"], "seats": int(team["seats"]) + 1},
        event="team.joined",
    )
    uow.send(QUEUE, {"pk": team["pk"], "sk": team["sk"]})  # the worker completes a team whose seats are all taken
    fresh = {
        **team,
        "seats": int(team["seats"]) + 1,
        "members": {*team.get("members", set()), member_id},
        "seat_orders": {**(team.get("seat_orders") or {}), member_id: seat},
    }
    return view(fresh)


def _stage_device_join(
    uow: UnitOfWork, device_id: str, item: dict | None, recent: list[datetime], now: datetime
) -> None:
    """Record the join on the device (the window's joins only); a concurrent join from it retries."""
    version = int((item or {}).get("v", 0))
    uow.put(
        {
            "pk": device_key(device_id)[0],
            "sk": "GBDEVICE",
            "type": "team_device",
            "joins": [iso(t) for t in [*recent, now]],
            "v": version + 1,
        },
        condition="attribute_not_exists(pk) OR v = :v",
        values={":v": version},
        on_fail=RETRY,
    )


# -- leaving: a seat's order cancelled while its team is open ---------------------------------------

LEFT_REASON = "left_team"


def cancel_order(deps: Deps, uow: UnitOfWork, member_id: str, order_id: str) -> dict:
    """POST /v1/orders/{id}/cancel: a seat in an open team leaves it (the seat is free again, nothing
    charged, exposure back); any other order is cancelled as usual."""
    order = orders.load_own(deps, member_id, order_id)
    if not order.get("team_code") or order.get("team_state") != rules.SeatState.OPEN:
        return orders.cancel(deps, uow, member_id, order_id)
    team = deps.table.get(*team_key(order["team_code"]))
    if not team or status_of(team) != rules.TeamStatus.OPEN or uow.now >= parse_iso(team["expires_at"]):
        raise InvalidState("this team is complete or closing; the seat proceeds or ends with it")
    seats = dict(team.get("seat_orders") or {})
    seat = seats.pop(member_id, None)
    if not seat or seat["order_id"] != order_id:
        raise InvalidState("this order no longer holds a seat")
    status = order["status"]
    left = rules.seat_transition(order["team_state"], rules.SeatState.LEFT)
    fields = {
        "status": str(order_rules.transition(status, "cancelled")),
        "charge_state": "cancelled",
        "reason": LEFT_REASON,
        "team_state": str(left),
        "cancelled_at": iso(uow.now),
        **pay_later.stage_close(deps, uow, order, LEFT_REASON),
    }
    uow.update(
        order["pk"],
        order["sk"],
        set=fields,
        remove=pay_later.without(["due_pk", "due_at"], fields),
        **expect({"status": status, "team_state": rules.SeatState.OPEN}, on_fail=RETRY),
    )
    closing.stage_released(uow, order, int(order["payable"]))
    # the team without the seat, under its exact seat count: a concurrent join or leave re-reads
    rest = list(seats.values())
    uow.update(
        team["pk"],
        team["sk"],
        **set_or_remove(
            {  # an empty set cannot be stored: removed instead
                "seats": len(rest),
                "seat_orders": seats,
                "members": set(seats) or None,
                "accounts": {s["account"] for s in rest if s.get("account")} or None,
                "devices": {s["device"] for s in rest if s.get("device")} or None,
            }
        ),
        **expect(
            {"status": rules.TeamStatus.OPEN, "seats": int(team["seats"])},
            also="seats < #size",
            names={"#size": "size"},
            on_fail=RETRY,
        ),
    )
    lock_pk, lock_sk = lock_key(team["group_buy_id"], member_id)
    uow.update(
        lock_pk,
        lock_sk,
        set={"open": False, "closed_at": iso(uow.now)},
        condition="team_code = :c",
        values={":c": team["share_code"]},
        on_fail=RETRY,
    )
    uow.audit(
        f"order#{order_id}",
        "cancelled",
        before={"status": status},
        after={"status": "cancelled", "reason": LEFT_REASON},
        event="order.cancelled",
    )
    uow.audit(
        f"team#{team['id']}",
        "left",
        data={"share_code": team["share_code"], "member_id": member_id, "order_id": order_id, "seats": len(rest)},
        event="team.left",
    )
    return orders.view({**order, **fields})
