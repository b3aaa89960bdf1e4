"""The event log merchants' systems are fed from: one record per domain event (kept 30 days) and one
delivery per matching endpoint, with its attempts and next retry.

Items (all under the event's partition, all listed under list_pk "events#<day>#<shard>", newest first):
- EVENT#<event id> / EVENT: id, type, created_at, data (the documented detail), ttl.
- EVENT#<event id> / DELIVERY#<webhook id>: status pending|delivered|failed, attempts, next_attempt_at,
  last_status_code; while pending it carries the timer (due_pk "timer#webhook#<shard>", due_at), so the
  `retry_webhooks` sweep brings it back at its time on the application clock.
A delivery's list_sk extends its event's, so one Query returns events with their deliveries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from ...clock import iso, parse_iso
from ...domain import webhooks as rules
from ...domain.errors import Conflict, NotFound
from ...store.day_index import day_pk, read_day
from ...store.schema import shard_of
from ...store.uow import UnitOfWork
from . import endpoints

LIST_PREFIX = "events"  # day listings "events#<day>#<shard>" (store/day_index.py), shard of the event id
QUEUE = "webhook-deliveries"
TIMER = "webhook"


def event_detail(entry: dict) -> dict:
    """The documented event schema (EventBridge detail and webhook data): what changed, who, when,
    before and after."""
    return {
        "entity_id": entry["entity_id"],
        "action": entry["action"],
        "actor": entry["actor"],
        "at": entry["at"],
        "before": entry.get("before", {}),
        "after": entry.get("after", {}),
        "data": entry.get("data", {}),
    }


def event_payload(record: dict) -> dict:
    """The body POSTed to endpoints: {"id", "type", "created_at", "data"}."""
    return {"id": record["id"], "type": record["type"], "created_at": record["created_at"], "data": record["data"]}


def _delivery(event: dict, endpoint_id: str, now: datetime) -> dict:
    eid = event["id"]
    return {
        "pk": f"EVENT#{eid}",
        "sk": f"DELIVERY#{endpoint_id}",
        "type": "webhook_delivery",
        "event_id": eid,
        "webhook_id": endpoint_id,
        "status": "pending",
        "attempts": 0,
        "round_start": 0,
        "next_attempt_at": iso(now),
        "due_pk": f"timer#{TIMER}#{shard_of(eid + endpoint_id)}",
        "due_at": iso(now),
        "list_pk": event["list_pk"],
        "list_sk": f"{event['list_sk']}#{endpoint_id}",
        "ttl": event["ttl"],
    }


def record_event(deps: Any, entry: dict, endpoint_list: list[dict] | None = None) -> bool:
    """Record the event of audit entry `entry` once, with a pending delivery for each endpoint that wants
    its type, and queue the first attempts. A repeat (duplicate stream record, outbox rerun) finds the
    record and does nothing: effects happen once per event. Returns whether this call recorded it.
    `endpoint_list`: the endpoints as read once for a whole stream batch (else read here)."""
    now = deps.clock.now()
    eid = rules.event_id(entry["pk"], entry["sk"])
    created = parse_iso(entry["at"])
    event = {
        "pk": f"EVENT#{eid}",
        "sk": "EVENT",
        "type": "event",
        "id": eid,
        "event_type": entry["event_type"],
        "created_at": entry["at"],
        "data": event_detail(entry),
        "list_pk": day_pk(LIST_PREFIX, entry["at"][:10], eid),
        "list_sk": f"{entry['at']}#{eid}",
        "ttl": int((created + rules.EVENT_RETENTION).timestamp()),
    }
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    uow.put(event, condition="attribute_not_exists(pk)", on_fail=Conflict("event already recorded"))
    listed = endpoints.all_endpoints(deps.table) if endpoint_list is None else endpoint_list
    targets = [e["id"] for e in listed if rules.wants(e["events"], entry["event_type"])]
    for endpoint_id in targets:
        item = _delivery(event, endpoint_id, now)
        uow.put(item)
        uow.send(QUEUE, {"pk": item["pk"], "sk": item["sk"]})
    try:
        uow.commit()
    except Conflict:
        return False
    return True


def as_record(item: dict) -> dict:
    """An event item as the rest of the code speaks of it (id, type, created_at, data)."""
    return {"id": item["id"], "type": item["event_type"], "created_at": item["created_at"], "data": item["data"]}


def _delivery_out(d: dict) -> dict:
    return {
        "webhook_id": d["webhook_id"],
        "status": d["status"],
        "attempts": int(d.get("attempts", 0)),
        "next_attempt_at": d.get("next_attempt_at") if d["status"] == "pending" else None,
        "last_status_code": int(d["last_status_code"]) if d.get("last_status_code") is not None else None,
    }


def _grouped(table: Any, now: datetime) -> Iterator[tuple[dict, list[dict]]]:
    """(event item, its delivery items), newest first: day by day over the retention period, paging
    through the list index as it goes (nothing is read beyond what the caller consumes)."""
    for back in range(rules.EVENT_RETENTION.days + 1):
        day = (now - timedelta(days=back)).date().isoformat()
        pending: dict[str, list[dict]] = {}
        for item in read_day(table, LIST_PREFIX, day, newest_first=True):
            if item["sk"] == "EVENT":
                yield item, pending.pop(item["id"], [])
            else:
                pending.setdefault(item["event_id"], []).append(item)


def list_events(table: Any, now: datetime, type_: str | None, delivery: str | None, limit: int) -> list[dict]:
    """Events newest first, each with the status of its delivery to every endpoint; filtered by type
    (exact, or `prefix.*`) and by a delivery status (events with at least one delivery in it)."""
    out: list[dict] = []
    for event, deliveries in _grouped(table, now):
        if int(event.get("ttl", 0)) <= int(now.timestamp()):
            continue  # past its 30 days (TTL deletion is lazy)
        if type_ and not rules.matches(type_, event["event_type"]):
            continue
        if delivery and not any(d["status"] == delivery for d in deliveries):
            continue
        out.append(
            {
                **as_record(event),
                "deliveries": sorted((_delivery_out(d) for d in deliveries), key=lambda d: d["webhook_id"]),
            }
        )
        if len(out) >= limit:
            break
    return out


def redeliver(deps: Any, uow: UnitOfWork, eid: str) -> dict:
    """Send the event again to each endpoint it went to (or, if none wanted it then, to those that want
    it now): each delivery is pending again, due now, with a fresh retry schedule."""
    table, now = deps.table, uow.now
    items = list(table.query("pk = :p", {":p": f"EVENT#{eid}"}))
    event = next((i for i in items if i["sk"] == "EVENT"), None)
    if not event or int(event.get("ttl", 0)) <= int(now.timestamp()):
        raise NotFound("no such event", "id")
    existing = {i["webhook_id"]: i for i in items if i["sk"].startswith("DELIVERY#")}
    live = {e["id"] for e in endpoints.all_endpoints(table)}
    targets = [w for w in existing if w in live] or [
        e["id"] for e in endpoints.all_endpoints(table) if rules.wants(e["events"], event["event_type"])
    ]
    for endpoint_id in targets:
        d = existing.get(endpoint_id)
        if d is None:
            item = _delivery(event, endpoint_id, now)
            uow.put(item, condition="attribute_not_exists(pk)")
        else:
            item = d
            uow.update(
                d["pk"],
                d["sk"],
                set={
                    "status": "pending",
                    "round_start": int(d.get("attempts", 0)),
                    "next_attempt_at": iso(now),
                    "due_pk": f"timer#{TIMER}#{shard_of(eid + endpoint_id)}",
                    "due_at": iso(now),
                },
                condition="attempts = :a",
                values={":a": d.get("attempts", 0)},
            )
        uow.send(QUEUE, {"pk": item["pk"], "sk": item["sk"]})
    uow.audit(f"event#{eid}", "redelivery_requested", data={"webhooks": targets})
    return {"id": eid, "webhooks": targets}
