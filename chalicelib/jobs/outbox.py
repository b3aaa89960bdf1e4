"""publish_events: audit entries marked as events are published to EventBridge (transactional outbox)."""
from __future__ import annotations

import json
from datetime import datetime

from ..ports import Deps
from ..store.dynamo import ConditionFailed
from . import reactions

SOURCE = "creditfirst"


def publish_events(deps: Deps, now: datetime) -> int:
    items = _outbox(deps, now)
    if items:
        deps.queues.send_many("outbox", [{"pk": i["pk"], "sk": i["sk"]} for i in items])
    return len(items)


def _outbox(deps: Deps, now: datetime) -> list[dict]:
    from ..clock import iso
    from ..store.schema import SHARDS

    out: list[dict] = []
    for shard in range(SHARDS):
        out.extend(deps.table.query("due_pk = :p AND due_at <= :now", {":p": f"outbox#{shard}", ":now": iso(now)},
                                    index="due", limit=500))
    return out


def event_detail(entry: dict) -> dict:
    """The documented event schema: what changed, who, when, before and after."""
    return {"entity_id": entry["entity_id"], "action": entry["action"], "actor": entry["actor"], "at": entry["at"],
            "before": entry.get("before", {}), "after": entry.get("after", {}), "data": entry.get("data", {})}


def publish_one(deps: Deps, body: dict) -> None:
    entry = deps.table.get(body["pk"], body["sk"])
    if not entry or "due_pk" not in entry:
        return  # already published
    reactions.react(deps, entry)  # what the event moves here (referral triggers); idempotent
    out = deps.events.put_events(Entries=[{
        "Source": SOURCE, "DetailType": entry["event_type"], "Detail": json.dumps(event_detail(entry)),
        "EventBusName": deps.settings.event_bus,
    }])
    if out.get("FailedEntryCount"):
        raise RuntimeError("EventBridge refused the event")
    try:
        deps.table.update(body["pk"], body["sk"], "REMOVE due_pk, due_at SET published = :t",
                          condition="attribute_exists(due_pk)", values={":t": True})
    except ConditionFailed:
        pass  # a concurrent delivery published it; at-least-once is the EventBridge contract
