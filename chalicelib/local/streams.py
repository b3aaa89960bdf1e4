"""The local stack's reader of the table's stream: what the deployed `on_dynamodb_record` mapping does,
over the embedded endpoint (moto and DynamoDB Local both serve DynamoDB Streams; STACK-NOTES.md).

It follows every shard with GetRecords and hands the records to jobs/stream.handle_records, the
function the deployed Lambda runs. A table without a stream (an external endpoint's existing table)
leaves `available` False and the `publish_events` sweep carries events, as before.
"""

from __future__ import annotations

from typing import Any

from ..log import logger


class StreamReader:
    def __init__(self, deps: Any, client: Any, start: str = "LATEST") -> None:
        self.deps, self.client, self.start = deps, client, start
        table = deps.table.client.describe_table(TableName=deps.settings.table_name)["Table"]
        self.arn: str | None = (
            table.get("LatestStreamArn") if table.get("StreamSpecification", {}).get("StreamEnabled") else None
        )
        self.iterators: dict[str, str] = {}
        self.finished: set[str] = set()

    @property
    def available(self) -> bool:
        return self.arn is not None

    def discover(self) -> None:
        """Start following shards not yet followed (new ones from their first record)."""
        if not self.arn:
            return
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"].get("Shards", [])
        first = not self.iterators and not self.finished
        for shard in shards:
            sid = shard["ShardId"]
            if sid in self.iterators or sid in self.finished:
                continue
            kind = self.start if first else "TRIM_HORIZON"
            self.iterators[sid] = self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=sid, ShardIteratorType=kind
            )["ShardIterator"]

    def poll_once(self) -> int:
        """One GetRecords per followed shard; returns how many records were read."""
        from ..jobs.stream import handle_records

        read = 0
        for sid, iterator in list(self.iterators.items()):
            out = self.client.get_records(ShardIterator=iterator, Limit=1000)
            records = out.get("Records", [])
            failed = handle_records(self.deps, records) if records else []
            if failed:  # like the deployed mapping: retry from the first failed record
                logger.warning("stream records failed; the outbox sweep retries them", extra={"count": len(failed)})
            read += len(records)
            nxt = out.get("NextShardIterator")
            if nxt:
                self.iterators[sid] = nxt
            else:
                del self.iterators[sid]
                self.finished.add(sid)
        return read
