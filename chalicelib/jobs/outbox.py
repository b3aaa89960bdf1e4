"""publish_events: audit entries marked as events are published to EventBridge (transactional outbox)
and recorded in the event log the merchant's webhooks are fed from."""

from __future__ import annotations

import json
from datetime import datetime

from ..clock import iso
from ..ports import Deps
from ..services.webhooks.log import event_detail, record_event
from ..store.dynamo import ConditionFailed
from ..store.schema import shard_count
from . import reactions

SOURCE = "creditfirst"


def publish_events(deps: Deps, now: datetime) -> int:
    items = _outbox(deps, now)
    if items:
        deps.queues.send_many("outbox", [{"pk": i["pk"], "sk": i["sk"]} for i in items])
    return len(items)


def _outbox(deps: Deps, now: datetime) -> list[dict]:
    out: list[dict] = []
    for shard in range(shard_count()):
        out.extend(
            deps.table.query(
                "due_pk = :p AND due_at <= :now", {":p": f"outbox#{shard}", ":now": iso(now)}, index="due", limit=500
            )
        )
    return out


CLAIM_SECONDS = 60  # a publisher that dies mid-way leaves the entry to the sweep after this long


def publish_one(deps: Deps, body: dict, endpoint_list: list[dict] | None = None) -> None:
    """Record the event for the webhooks, put it on the bus, mark it published. The stream and the sweep
    may hand the same entry over at once: a claim (moving its due_at ahead, conditionally) lets one of
    them publish; a publisher that fails leaves the claim to lapse and the sweep to try again.
    `endpoint_list`: the webhook endpoints read once for a stream batch (else read per event)."""
    from datetime import timedelta

    from ..clock import iso

    entry = deps.table.get(body["pk"], body["sk"])
    if not entry or "due_pk" not in entry:
        return  # already published
    now = deps.clock.now()
    if entry["due_at"] > iso(now):
        return  # another publisher holds it
    try:
        deps.table.update(
            body["pk"],
            body["sk"],
            "SET due_at = :later",
            condition="due_at = :seen",
            values={":later": iso(now + timedelta(seconds=CLAIM_SECONDS)), ":seen": entry["due_at"]},
        )
    except ConditionFailed:
        return  # another publisher claimed it first
    reactions.react(deps, entry)  # what the event moves here (referral triggers); idempotent
    record_event(deps, entry, endpoint_list)  # the event log and its webhook deliveries, once per event
    out = deps.events.put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": entry["event_type"],
                "Detail": json.dumps(event_detail(entry)),
                "EventBusName": deps.settings.event_bus,
            }
        ]
    )
    if out.get("FailedEntryCount"):
        raise RuntimeError("EventBridge refused the event")
    try:
        deps.table.update(
            body["pk"],
            body["sk"],
            set={"published": True},
            remove=["due_pk", "due_at"],
            condition="attribute_exists(due_pk)",
        )
    except ConditionFailed:
        pass  # marked meanwhile (a lapsed claim taken over): at-least-once is the EventBridge contract
