"""The one schema: table, indexes and queues. Used by the local stack and the deploy template.

Single table. Keys: pk/sk. Sparse indexes (only items that carry the attribute are in them):
- `due`   (due_pk, due_at):   timers; e.g. due_pk = "timer#rental#<shard>", due_at = next wake-up
          (shard_count() shards per kind; a sweep hands each shard to the timer-shards queue).
- `list`  (list_pk, list_sk): listings; e.g. "member#<id>#rental" newest first, "blacklist", "review#pending".
- `group` (group_pk, group_sk): members by tier for coupon drops: "tier#gold#<shard>".
"""

from __future__ import annotations

import hashlib

from ..config import get_settings

TTL_ATTRIBUTE = "ttl"

INDEXES: dict[str, tuple[str, str]] = {
    "due": ("due_pk", "due_at"),
    "list": ("list_pk", "list_sk"),
    "group": ("group_pk", "group_sk"),
}

# Queue name (without the stage prefix) -> max receives before the dead-letter queue.
QUEUES: dict[str, int] = {
    "rental-settlements": 5,  # release_freezes: rent taken, rest released
    "rental-timers": 5,  # overdue deduction, freeze lapse, reconciliation
    "order-charges": 5,  # pay-later / booking charges and refunds
    "order-timers": 5,  # charge retries, reconciliation
    "coupon-drops": 5,  # credit day and campaigns, in batches
    "reservation-timers": 5,  # offers that lapse after 3 days
    "member-timers": 5,  # authorization expiry
    "thresholds": 5,  # daily threshold adjustment per scenario
    "outbox": 5,  # domain events to EventBridge
    "sandbox-notifications": 5,  # the sandbox provider's asynchronous answers
    "provider-intents": 5,  # provider orders whose own commit never came: closed at the provider
    "timer-shards": 5,  # one message per due-index shard: read in parallel, due items enqueued
    "metric-folds": 5,  # analytics deltas the stream did not fold: one shard per message
    "webhook-deliveries": 5,  # one attempt to POST an event to a merchant endpoint (retries ride timers)
    "team-timers": 5,  # group-buy teams: full, or at their deadline failed / virtual_full
    "referral-timers": 5,  # referral rewards whose 7-day hold has ended
    "reminders": 5,  # member-day reminders, in batches of members
    "bill-reconciliations": 5,  # one provider's bill of one day matched with our ledger (reconcile_bills)
}
QUEUE_VISIBILITY_SECONDS = 60
# The table's stream feeds newly written event entries to EventBridge and webhooks within seconds
# (jobs/stream.py); NEW_IMAGE is all it needs.
STREAM_VIEW = "NEW_IMAGE"


def shard_count() -> int:
    """How many partitions each timer kind (and the outbox) is spread over: CREDITFIRST_TIMER_SHARDS,
    4 by default, at most MAX_SHARDS. Raise it, never lower it: an item keeps the shard it was written
    with, and sweeps read shards 0..count-1."""
    return get_settings().timer_shards


def shard_of(key: str) -> int:
    """Stable shard for a key (spreads timer partitions)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:2], "big") % shard_count()


def dynamodb_table_spec(table_name: str) -> dict:
    """CreateTable arguments for the single table."""
    attrs = {"pk", "sk"} | {a for pair in INDEXES.values() for a in pair}
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}, {"AttributeName": r, "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, (h, r) in INDEXES.items()
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAM_VIEW},
    }


def queue_names(prefix: str) -> dict[str, str]:
    """Logical name -> real queue name."""
    return {name: f"{prefix}{name}" for name in QUEUES}


def cloudformation_resources(app_name: str, stage: str, table_name: str, queue_prefix: str, event_bus: str) -> dict:
    """The same schema as CloudFormation resources, for `chalice package --merge-template`."""
    resources: dict[str, dict] = {}
    spec = dynamodb_table_spec(table_name)
    spec["StreamSpecification"] = {"StreamViewType": STREAM_VIEW}  # CloudFormation's shape: no StreamEnabled
    resources["CreditfirstTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            **spec,
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    }
    for name, max_receives in QUEUES.items():
        logical = "".join(p.capitalize() for p in name.split("-"))
        resources[f"{logical}Dlq"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{queue_prefix}{name}-dlq", "MessageRetentionPeriod": 1209600},
        }
        resources[f"{logical}Queue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"{queue_prefix}{name}",
                "VisibilityTimeout": QUEUE_VISIBILITY_SECONDS * 6,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [f"{logical}Dlq", "Arn"]},
                    "maxReceiveCount": max_receives,
                },
            },
        }
    resources["CreditfirstEventBus"] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": event_bus}}
    return resources
