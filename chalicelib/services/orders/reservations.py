"""0-yuan reservations: a queue per product ordered by tier (gold first) then time, stock offered
down the queue, 3 days to convert, then the place passes on.

Queue: waiting reservations carry list_pk "product#<id>#waiting", list_sk "<rank>#<created_at>#<id>"
(one Query in allocation order). Stock: PRODUCT#<id>/STOCK `available` = places not yet offered;
offering a place decrements it under `available >= 1` in the same transaction as waiting -> offered,
an expiry gives it back. Convert marks the place taken (`converted`); the purchase itself is then
an ordinary POST /v1/orders (the reservation only guarantees the place).
"""

from __future__ import annotations

import secrets

from ...clock import iso, parse_iso
from ...domain import bookings as rules
from ...domain.bookings import ReservationStatus
from ...domain.errors import Forbidden, InvalidState, NotFound
from ...ports import Deps
from ...store.guards import ABSENT, expect
from ...store.schema import shard_of
from ...store.uow import RETRY, Retry, UnitOfWork
from ..members import members

MAX_OFFER_ROUNDS = 20
MAX_OFFERS = 40  # offers staged with the stock: 2 writes each, within one transaction's 100


def reservation_key(rid: str) -> tuple[str, str]:
    return f"RESERVATION#{rid}", "RESERVATION"


def stock_key(product_id: str) -> tuple[str, str]:
    return f"PRODUCT#{product_id}", "STOCK"


def queue_pk(product_id: str) -> str:
    return f"product#{product_id}#waiting"


def load_own(deps: Deps, member_id: str, rid: str) -> dict:
    item = deps.table.get(*reservation_key(rid))
    if not item or item.get("member_id") != member_id:
        raise NotFound("no such reservation")
    return item


def position(deps: Deps, item: dict) -> int | None:
    """1 + waiting reservations ahead in allocation order (None once out of the queue)."""
    if item["status"] != ReservationStatus.WAITING:
        return None
    ahead = deps.table.query(
        "list_pk = :p AND list_sk < :s", {":p": queue_pk(item["product_id"]), ":s": item["list_sk"]}, index="list"
    )
    return 1 + sum(1 for _ in ahead)


def view(item: dict, pos: int | None) -> dict:
    keys = ("id", "product_id", "status", "tier", "created_at", "offered_at", "offer_expires_at", "converted_at")
    return {**{k: item.get(k) for k in keys}, "position": pos}


def create(deps: Deps, uow: UnitOfWork, member_id: str, product_id: str) -> dict:
    """Silver and gold join the product's queue (one reservation per member and product)."""
    member = members.load(deps.table, member_id)
    members.require_authorized(member, uow.now)
    tier = members.tier(member, uow.now)
    if tier not in rules.RESERVING_TIERS:
        raise Forbidden("reservations are for silver and gold members", code="tier_not_eligible")
    rid, at = "rsv_" + secrets.token_hex(10), iso(uow.now)
    item = {
        "pk": reservation_key(rid)[0],
        "sk": "RESERVATION",
        "type": "reservation",
        "id": rid,
        "member_id": member_id,
        "product_id": product_id,
        "tier": tier,
        "status": str(ReservationStatus.WAITING),
        "created_at": at,
        "list_pk": queue_pk(product_id),
        "list_sk": rules.queue_sort_key(tier, at, rid),
    }
    uow.put(
        {"pk": f"PRODUCT#{product_id}", "sk": f"HOLDER#{member_id}", "reservation_id": rid},
        condition="attribute_not_exists(pk)",
        on_fail=InvalidState("you already reserved this product", "product_id", code="already_reserved"),
    )
    uow.put(item, condition="attribute_not_exists(pk)")
    uow.audit(
        f"reservation#{rid}", "created", after={"product_id": product_id, "tier": tier}, event="reservation.created"
    )
    return view(item, position(deps, item))


def add_stock(deps: Deps, uow: UnitOfWork, product_id: str, quantity: int) -> dict:
    """Operators add stock; places are offered down the queue in the same transaction (staged into the
    route's `uow`, so the Idempotency-Key rides in it). The stock write is guarded on the `available` read
    here: a concurrent offer, expiry or delivery makes it Retry, and the route decides again on a fresh read.
    More places than one transaction holds: the rest are offered after the commit, each in its own guarded
    transaction (`offer_places`, as an expiry does; the answer counts the places offered here)."""
    stock = deps.table.get(*stock_key(product_id))
    available = int(stock["available"]) if stock else 0
    places = available + quantity
    head = list(
        deps.table.query("list_pk = :p", {":p": queue_pk(product_id)}, index="list", limit=min(places, MAX_OFFERS))
    )
    uow.update(
        *stock_key(product_id),
        add={"available": quantity - len(head), "received": quantity},
        set={"type": "stock", "product_id": product_id},
        **expect({"available": available if stock else ABSENT}, on_fail=RETRY),
    )
    uow.audit(f"product#{product_id}", "stock_added", data={"quantity": quantity}, event="product.stock_added")
    for item in head:
        _stage_offer(deps, uow, item)
    if len(head) == MAX_OFFERS and places > MAX_OFFERS:
        uow.after_commit(lambda: offer_places(deps, product_id))
    return {"product_id": product_id, "offered": len(head), "available": places - len(head)}


def offer_places(deps: Deps, product_id: str) -> int:
    """Offer free places to the head of the queue; safe to run twice or concurrently."""
    offered = 0
    for _ in range(MAX_OFFER_ROUNDS):
        available = int((deps.table.get(*stock_key(product_id)) or {}).get("available", 0))
        if available <= 0:
            break
        head = list(deps.table.query("list_pk = :p", {":p": queue_pk(product_id)}, index="list", limit=available))
        if not head:
            break
        for item in head:
            try:
                _offer(deps, item)
                offered += 1
            except Retry:
                break  # the stock or the queue moved: read again
    return offered


def _offer(deps: Deps, item: dict) -> None:
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    _stage_offer(deps, uow, item)
    uow.update(
        *stock_key(item["product_id"]),
        add={"available": -1},
        condition="available >= :one",
        values={":one": 1},
        on_fail=RETRY,
    )
    uow.commit()


def _stage_offer(deps: Deps, uow: UnitOfWork, item: dict) -> None:
    """waiting -> offered, with its expiry timer (the caller takes the place from the stock)."""
    expires = rules.offer_expires_at(uow.now, deps.settings.policy)
    uow.update(
        item["pk"],
        item["sk"],
        set={
            "status": str(ReservationStatus.OFFERED),
            "offered_at": iso(uow.now),
            "offer_expires_at": iso(expires),
            "due_pk": f"timer#reservation#{shard_of(item['id'])}",
            "due_at": iso(expires),
        },
        remove=["list_pk", "list_sk"],
        **expect({"status": ReservationStatus.WAITING}, on_fail=RETRY),
    )
    uow.audit(
        f"reservation#{item['id']}",
        "offered",
        before={"status": "waiting"},
        after={"status": "offered", "offer_expires_at": iso(expires)},
        event="reservation.offered",
    )


def convert(deps: Deps, uow: UnitOfWork, member_id: str, rid: str) -> dict:
    """The holder takes the offered place within the 3 days."""
    item = load_own(deps, member_id, rid)
    if item["status"] != ReservationStatus.OFFERED:
        raise InvalidState(f"a reservation that is {item['status']} cannot be converted")
    if parse_iso(item["offer_expires_at"]) <= uow.now:
        raise InvalidState("the offer has lapsed", code="offer_expired")
    uow.update(
        item["pk"],
        item["sk"],
        set={"status": str(ReservationStatus.CONVERTED), "converted_at": iso(uow.now)},
        remove=["due_pk", "due_at"],
        **expect({"status": ReservationStatus.OFFERED}, on_fail=RETRY),
    )
    uow.audit(
        f"reservation#{rid}",
        "converted",
        before={"status": "offered"},
        after={"status": "converted"},
        event="reservation.converted",
    )
    return view({**item, "status": str(ReservationStatus.CONVERTED), "converted_at": iso(uow.now)}, None)


def expire_offer(deps: Deps, pk: str, sk: str) -> bool:
    """Worker: a lapsed offer expires, its place goes back to stock and on down the queue."""
    item = deps.table.get(pk, sk)
    now = deps.clock.now()
    if item and item["status"] == ReservationStatus.OFFERED and parse_iso(item["offer_expires_at"]) <= now:
        uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
        uow.update(
            pk,
            sk,
            set={"status": str(ReservationStatus.EXPIRED), "expired_at": iso(now)},
            remove=["due_pk", "due_at"],
            **expect({"status": ReservationStatus.OFFERED}, on_fail=RETRY),
        )
        uow.update(*stock_key(item["product_id"]), add={"available": 1})
        uow.audit(
            f"reservation#{item['id']}",
            "expired",
            before={"status": "offered"},
            after={"status": "expired"},
            event="reservation.expired",
        )
        try:
            uow.commit()
        except Retry:
            return False  # converted or expired concurrently
    if item:
        offer_places(deps, item["product_id"])  # also finishes a pass-on a crash interrupted
    return bool(item)
