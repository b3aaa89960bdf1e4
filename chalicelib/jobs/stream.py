"""Events within seconds: the table's stream (NEW_IMAGE) feeds each newly written event entry to
EventBridge and the webhook log as soon as it commits, instead of waiting for the outbox sweep; and
folds each batch's analytics deltas into the counters (services/ops/metric_fold.py).

The same function serves the deployed `on_dynamodb_record` Lambda and the local stack's stream poller.
Effects are once per event despite duplicate stream delivery: the webhook record is a conditional put
on the stable event id, and publishing removes the entry's outbox mark under a condition
(jobs/outbox.publish_one). The `publish_events` sweep stays as the safety net for anything a stream
never delivered (a function that kept failing, an endpoint without streams).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..log import logger
from ..ports import Deps
from ..services.ops import metric_fold
from ..services.webhooks import endpoints
from ..store.dynamo import from_dynamo
from .outbox import publish_one


def event_entry(record: dict) -> dict | None:
    """The event entry a stream record carries: an INSERT of an audit row with an event type (its
    outbox mark still on), else None (every other write to the table is not ours to publish)."""
    image = _inserted(record, "audit")
    if not image or not image.get("event_type") or "due_pk" not in image:
        return None
    return image


def metric_delta(record: dict) -> dict | None:
    """The analytics delta a stream record carries (an INSERT of a metric_delta item), else None."""
    return _inserted(record, metric_fold.DELTA_TYPE)


def _inserted(record: dict, item_type: str) -> dict | None:
    """The new image of an INSERT of an item of `item_type`, else None. The type is read from the raw image
    before anything is deserialized: other items' images are not ours to parse (DynamoDB Local's stream
    carries attributes boto3 cannot deserialize, e.g. an empty value)."""
    if record.get("eventName") != "INSERT":
        return None
    raw = (record.get("dynamodb") or {}).get("NewImage") or {}
    if (raw.get("type") or {}).get("S") != item_type:
        return None
    return from_dynamo({k: v for k, v in raw.items() if v})


def fold_metrics(deps: Deps, records: list[dict]) -> list[str]:
    """Fold the batch's analytics deltas into the counters, one update per counter item (exactly once
    each: metric_fold); on failure every delta record's sequence number, so the stream retries them."""
    found = [(r, d) for r in records if (d := metric_delta(r)) is not None]
    if not found:
        return []
    try:
        metric_fold.fold(deps, [d for _, d in found], deps.clock.now())
        return []
    except Exception:  # the stream retries; deltas folded meanwhile are left out by their condition
        logger.exception("metric fold failed", extra={"deltas": len(found)})
        return [r["dynamodb"]["SequenceNumber"] for r, _ in found]


def handle_records(deps: Deps, records: Iterable[dict]) -> list[str]:
    """Publish every event entry among stream records and fold the analytics deltas; the sequence
    numbers of those that failed (reported as batchItemFailures: the stream retries from the first)."""
    records = list(records)
    failed: list[str] = fold_metrics(deps, records)
    entries = [(record, entry) for record in records if (entry := event_entry(record)) is not None]
    # The webhook endpoints, read once for the batch (not once per event: up to 100 identical Queries).
    try:
        endpoint_list = endpoints.all_endpoints(deps.table) if entries else []
    except Exception:  # unread: every event of the batch is retried by the stream
        logger.exception("webhook endpoints unread", extra={"events": len(entries)})
        return failed + [record["dynamodb"]["SequenceNumber"] for record, _ in entries]
    for record, entry in entries:
        try:
            publish_one(deps, {"pk": entry["pk"], "sk": entry["sk"]}, endpoint_list)
        except Exception:  # one bad record must not stop the others; the stream retries it
            logger.exception("stream record failed", extra={"pk": entry["pk"]})
            failed.append(record["dynamodb"]["SequenceNumber"])
    return failed


def handle_chalice_event(deps: Deps, event: Any) -> dict:
    """Chalice's DynamoDBEvent -> {"batchItemFailures": [...]} (FunctionResponseTypes in the template)."""
    failed = handle_records(deps, (record.to_dict() for record in event))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
