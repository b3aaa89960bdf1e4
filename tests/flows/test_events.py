"""Every audited state change with an event reaches the EventBridge bus exactly once (transactional outbox)."""

from __future__ import annotations

import json

from tests.helpers import Api


def _capture_bus(aws) -> str:
    """A rule on our bus sending every creditfirst event to a fresh SQS queue; returns its URL."""
    sqs, events = aws.queues.client, aws.events
    url = sqs.create_queue(QueueName=f"{aws.settings.queue_prefix}capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="capture", EventBusName=aws.settings.event_bus, EventPattern=json.dumps({"source": ["creditfirst"]})
    )
    events.put_targets(Rule="capture", EventBusName=aws.settings.event_bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _drain(aws, url: str) -> list[dict]:
    got = []
    while True:
        msgs = aws.queues.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return got
        for m in msgs:
            got.append(json.loads(m["Body"]))
            aws.queues.client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_credit_granted_is_published_once(client, aws):
    url = _capture_bus(aws)
    api = Api(client)
    token = api.member("pia:760")
    api.run_jobs()
    api.run_jobs()  # a rerun publishes nothing again
    events = _drain(aws, url)
    granted = [e for e in events if e["detail-type"] == "credit.granted"]
    assert len(granted) == 1
    detail = granted[0]["detail"]
    me = api.get("/v1/me", token=token)[1]
    assert detail["entity_id"] == f"member#{me['member_id']}"
    assert detail["after"] == {"band": "750-799", "tier": "gold"} and detail["actor"] == me["member_id"]
    assert {e["detail-type"] for e in events} >= {"credit.granted", "coupon.issued"}
    # published rows leave the sparse outbox index, so the next sweep reads nothing
    from chalicelib.store.schema import shard_count

    for shard in range(shard_count()):
        assert list(aws.table.query("due_pk = :p", {":p": f"outbox#{shard}"}, index="due")) == []
    audit = list(aws.table.query("pk = :p", {":p": f"AUDIT#member#{me['member_id']}"}))
    assert any(a.get("published") for a in audit)
