"""Events within seconds: the table's stream (read through the embedded endpoint as the local stack reads
it) feeds event entries to EventBridge and the webhooks without the outbox sweep; duplicates of stream
records have one effect; the deployed handler reports failed records by sequence number."""

from __future__ import annotations

from chalice.app import DynamoDBEvent

from chalicelib.jobs.runner import drain, handle_stream
from chalicelib.jobs.stream import handle_records
from chalicelib.local.stack import streams_client
from chalicelib.local.streams import StreamReader
from chalicelib.store.schema import shard_count
from tests.helpers import Api
from tests.webhook_receiver import Receiver


def _reader(aws) -> StreamReader:
    reader = StreamReader(aws, streams_client(aws.settings.region))
    assert reader.available  # moto serves the table's stream
    reader.discover()
    return reader


def _records(reader: StreamReader) -> list[dict]:
    """Every record written since the reader started (GetRecords until a round reads nothing)."""
    got: list[dict] = []
    for sid, iterator in list(reader.iterators.items()):
        while iterator:
            out = reader.client.get_records(ShardIterator=iterator, Limit=1000)
            got.extend(out.get("Records", []))
            if not out.get("Records"):
                break
            iterator = out.get("NextShardIterator")
        reader.iterators[sid] = iterator
    return got


def _outbox(aws) -> list[dict]:
    return [i for s in range(shard_count()) for i in aws.table.query("due_pk = :p", {":p": f"outbox#{s}"}, index="due")]


def test_an_event_reaches_the_webhook_from_the_stream_without_the_outbox_sweep(client, aws):
    api = Api(client)
    reader = _reader(aws)
    with Receiver() as receiver:
        api.admin("POST", "/v1/admin/webhooks", {"url": receiver.url, "events": ["credit.granted"]})
        api.member("pia:760")
        drain(aws, "sandbox-notifications")
        assert _outbox(aws)  # written, not yet published
        while reader.poll_once():
            pass
        assert _outbox(aws) == []  # published from the stream: the sweep has nothing left
        drain(aws, "webhook-deliveries")
        assert [e["type"] for e in receiver.events()] == ["credit.granted"]


def test_duplicate_stream_records_have_one_effect(client, aws):
    api = Api(client)
    reader = _reader(aws)
    with Receiver() as receiver:
        api.admin("POST", "/v1/admin/webhooks", {"url": receiver.url, "events": ["*"]})
        api.member("quinn:760")
        drain(aws, "sandbox-notifications")
        records = _records(reader)
        assert any(r["eventName"] == "INSERT" and "event_type" in r["dynamodb"]["NewImage"] for r in records)
        assert handle_records(aws, records) == []
        assert handle_records(aws, records) == []  # the stream delivers again (a retried batch)
        drain(aws, "webhook-deliveries")
        ids = [e["id"] for e in receiver.events()]
        assert ids and len(ids) == len(set(ids))
        _status, listed = api.admin("GET", "/v1/admin/events")
        assert sorted(e["id"] for e in listed["items"]) == sorted(ids)


def test_the_deployed_handler_reports_failed_records_by_sequence_number(client, aws, monkeypatch):
    api = Api(client)
    reader = _reader(aws)
    api.member("rosa:760")
    drain(aws, "sandbox-notifications")
    records = [r for r in _records(reader) if "event_type" in r["dynamodb"]["NewImage"]]
    assert records
    event = DynamoDBEvent(
        {
            "Records": [
                dict(
                    r,
                    awsRegion="us-east-1",
                    eventSourceARN=reader.arn,
                    dynamodb=dict(r["dynamodb"], ApproximateCreationDateTime=0),
                )
                for r in records
            ]
        },
        None,
    )

    def refuse(**kwargs):
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    monkeypatch.setattr(aws.events, "put_events", refuse)
    out = handle_stream(event)
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [r["dynamodb"]["SequenceNumber"] for r in records]


def test_the_stream_and_the_sweep_racing_publish_an_event_once(client, aws, monkeypatch):
    """Both hand the same entry over at the same moment: one claim wins; one put on the bus."""
    import threading

    from chalicelib.jobs.outbox import publish_one

    Api(client).member("tia:760")
    drain(aws, "sandbox-notifications")
    [entry] = [e for e in _outbox(aws) if e["event_type"] == "credit.granted"]
    puts: list[dict] = []
    real = aws.events.put_events

    def counting(**kwargs):
        puts.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(aws.events, "put_events", counting)
    body = {"pk": entry["pk"], "sk": entry["sk"]}
    threads = [threading.Thread(target=publish_one, args=(aws, body)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    publish_one(aws, body)  # and a late duplicate
    assert len(puts) == 1
    assert "due_pk" not in aws.table.get(entry["pk"], entry["sk"])


def test_a_stream_batch_reads_the_webhook_endpoints_once_and_every_event_gets_its_deliveries(client, aws):
    api = Api(client)
    reader = _reader(aws)
    with Receiver() as receiver:
        api.admin("POST", "/v1/admin/webhooks", {"url": receiver.url, "events": ["*"]})
        api.admin("POST", "/v1/admin/webhooks", {"url": receiver.url, "events": ["credit.*"]})
        for code in ("sam:760", "tia:760", "uma:760"):
            api.member(code)
        drain(aws, "sandbox-notifications")
        records = _records(reader)
        events = [r for r in records if "event_type" in r["dynamodb"]["NewImage"]]
        assert len(events) >= 3
        listings: list[str] = []
        real = aws.table.query

        def counting(key_condition, values, **kw):
            listings.extend([values[":p"]] if values.get(":p") == "webhooks" else [])
            return real(key_condition, values, **kw)

        aws.table.query = counting
        assert handle_records(aws, records) == []
        aws.table.query = real
        assert listings == ["webhooks"]  # once for the batch, not once per event
        drain(aws, "webhook-deliveries")
        types = [r["dynamodb"]["NewImage"]["event_type"]["S"] for r in events]
        wanted = types + [t for t in types if t.startswith("credit.")]  # "*" takes all, "credit.*" its own
        assert "credit.granted" in types and sorted(e["type"] for e in receiver.events()) == sorted(wanted)
