"""Create the schema's table, queues (with dead-letter queues) and event bus where missing."""

from __future__ import annotations

import json
from typing import Any

from ..store.schema import QUEUE_VISIBILITY_SECONDS, QUEUES, TTL_ATTRIBUTE, dynamodb_table_spec, queue_names


def ensure_table(dynamodb: Any, table_name: str) -> None:
    existing = dynamodb.list_tables().get("TableNames", [])
    if table_name in existing:
        return
    dynamodb.create_table(**dynamodb_table_spec(table_name))
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    )


def ensure_queues(sqs: Any, prefix: str) -> None:
    for name, real in queue_names(prefix).items():
        dlq_url = sqs.create_queue(QueueName=f"{real}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(QUEUES[name])})
        sqs.create_queue(
            QueueName=real, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS)}
        )


def ensure_event_bus(events: Any, name: str) -> None:
    names = [b["Name"] for b in events.list_event_buses().get("EventBuses", [])]
    if name not in names:
        events.create_event_bus(Name=name)


def ensure_all(deps: Any) -> None:
    ensure_table(deps.table.client, deps.settings.table_name)
    ensure_queues(deps.queues.client, deps.settings.queue_prefix)
    ensure_event_bus(deps.events, deps.settings.event_bus)
