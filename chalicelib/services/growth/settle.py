"""A team's end (team-timers worker): every seat taken -> `full`; at the deadline -> `failed` (or
`virtual_full` where allowed). The status changes first, in one conditional write that keeps the team's
timer; then each seat is settled in its own transaction (the order, the member's exposure and coupon, the
member's lock) under a guard on the seat's order, and the timer is dropped last. A crash in between leaves
the timer, so the sweep finishes the job; a repeated or stale message changes nothing.

Full: each held order gets its charge timer (charged at its charge_at, as any pay-later order).
Failed: each order is cancelled with reason `team_failed`, nothing charged, exposure and coupon back.
"""

from __future__ import annotations

from datetime import datetime

from ...clock import iso, parse_iso
from ...domain import group_buys as rules
from ...domain import orders as order_rules
from ...domain.orders import OrderStatus
from ...log import logger
from ...ports import Deps
from ...store.guards import expect
from ...store.uow import Retry, UnitOfWork
from ..orders import charges, closing, pay_later
from ..orders.orders import HELD, order_key
from . import stats
from .teams import lock_key, seats_of

T = rules.TeamStatus
SEAT = rules.SeatState
FAILED_REASON = "team_failed"


def on_timer(deps: Deps, pk: str, sk: str) -> str:
    """Whatever is due on this team now."""
    for _ in range(6):
        team = deps.table.get(pk, sk)
        now = deps.clock.now()
        if not team:
            return "nothing_to_do"
        if team["status"] == T.OPEN:
            target = _target(team, now)
            if target is None:
                return "not_due"
            try:
                team = _close(deps, team, target, now)
            except Retry:
                continue
        if not team.get("due_pk"):
            return "settled"
        settle_seats(deps, team)
        return str(team["status"])
    raise Retry("team kept changing")


def _target(team: dict, now: datetime) -> rules.TeamStatus | None:
    seats, size = int(team["seats"]), int(team["size"])
    if seats >= size:
        return T.FULL
    if now >= parse_iso(team["expires_at"]):
        return rules.status_at_deadline(seats, size, bool(team.get("virtual_fill")))
    return None


def _close(deps: Deps, team: dict, target: rules.TeamStatus, now: datetime) -> dict:
    rules.transition(team["status"], target)
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    changes = {"status": str(target), "closed_at": iso(now), "due_at": iso(now)}
    uow.update(
        team["pk"], team["sk"], set=changes, **expect({"status": T.OPEN, "seats": int(team["seats"])}, on_fail=Retry)
    )
    uow.audit(
        f"team#{team['id']}",
        str(target),
        before={"status": "open"},
        after={"status": str(target), "seats": int(team["seats"])},
        data={"share_code": team["share_code"], "group_buy_id": team["group_buy_id"]},
        event=f"team.{target}",
    )
    stats.stage_team(uow, now.strftime("%Y-%m-%d"), str(target), team.get("band"), team["group_buy_id"])
    uow.commit()
    return {**team, **changes}


def settle_seats(deps: Deps, team: dict) -> None:
    """Each seat of a closed team (idempotent), then the team's timer."""
    seats = seats_of(team)
    found = deps.table.batch_get([order_key(s["order_id"]) for s in seats]) if seats else {}
    for seat in seats:
        order = found.get(order_key(seat["order_id"]))
        for _ in range(6):
            try:
                _settle_seat(deps, team, seat["member_id"], order)
                break
            except Retry:
                order = deps.table.get(*order_key(seat["order_id"]))
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    uow.update(team["pk"], team["sk"], remove=["due_pk", "due_at"], **expect({"status": team["status"]}, on_fail=Retry))
    try:
        uow.commit()
    except Retry:
        logger.info("team timer already dropped", extra={"share_code": team["share_code"]})


def _settle_seat(deps: Deps, team: dict, member_id: str, order: dict | None) -> None:
    now = deps.clock.now()
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    code = team["share_code"]
    lock_pk, lock_sk = lock_key(team["group_buy_id"], member_id)
    if order and order.get("team_state") == SEAT.OPEN:
        if team["status"] == T.FAILED:
            _stage_cancel(deps, uow, order)
        else:
            _stage_proceed(deps, uow, order, team["status"])
    lock_cond = "team_code = :c AND #o = :t"
    uow.update(
        lock_pk,
        lock_sk,
        set={"open": False, "closed_at": iso(now)},
        condition=lock_cond,
        names={"#o": "open"},
        values={":c": code, ":t": True},
        on_fail=Retry,
    )
    try:
        uow.commit()
    except Retry:
        if len(uow) == 1:  # only the lock, already released (or moved on after its release): done
            return
        raise


def _stage_proceed(deps: Deps, uow: UnitOfWork, order: dict, status: str) -> None:
    """Full (or virtual_full): a held order gets its charge timer; one in review proceeds when approved."""
    guard = expect({"status": order["status"], "team_state": SEAT.OPEN}, on_fail=Retry)
    fields: dict = {"team_state": str(rules.seat_transition(order["team_state"], status)), "updated_at": iso(uow.now)}
    if order["status"] == OrderStatus.PENDING_CHARGE and order.get("charge_state") == HELD:
        at = max(parse_iso(order["charge_at"]), uow.now)
        fields.update(charges.pending_fields("order", order["id"], int(order["payable"]), at))
        if order.get("agreement_state") == "pending":
            fields["due_at"] = iso(uow.now)  # the charge sweep settles the agreement first
    uow.update(order["pk"], order["sk"], set=fields, **guard)
    uow.audit(f"order#{order['id']}", "team_" + status, data={"share_code": order["team_code"]})


def _stage_cancel(deps: Deps, uow: UnitOfWork, order: dict) -> None:
    """Failed: cancelled before any charge, nothing charged, exposure and coupon back."""
    status = order["status"]
    seat = str(rules.seat_transition(order["team_state"], SEAT.FAILED))
    if status not in (OrderStatus.PENDING_CHARGE, OrderStatus.IN_REVIEW):
        uow.update(
            order["pk"], order["sk"], set={"team_state": seat}, **expect({"team_state": SEAT.OPEN}, on_fail=Retry)
        )
        return
    fields = {
        "status": str(order_rules.transition(status, OrderStatus.CANCELLED)),
        "charge_state": "cancelled",
        "reason": FAILED_REASON,
        "team_state": seat,
        "cancelled_at": iso(uow.now),
        "updated_at": iso(uow.now),
        **pay_later.stage_close(deps, uow, order, FAILED_REASON),
    }
    uow.update(
        order["pk"],
        order["sk"],
        set=fields,
        remove=pay_later.without(["due_pk", "due_at"], fields),
        **expect({"status": status, "team_state": SEAT.OPEN}, on_fail=Retry),
    )
    closing.stage_released(uow, order, int(order["payable"]))
    uow.audit(
        f"order#{order['id']}",
        "cancelled",
        before={"status": status},
        after={"status": "cancelled", "reason": FAILED_REASON},
        event="order.cancelled",
    )
