"""Day listings on the sparse `list` index, spread over shards.

A listing that every change of a kind writes (the CSV exports' index, the money ledger, the webhook event
log) would otherwise be one index partition a day taking every one of those writes, and an index partition
takes about 1,000 writes a second before it throttles (and a throttled index slows the table's writes). A
writer puts its entry on the shard of a key of its own; a reader merges the shards' pages in sort-key
order, lazily (nothing is read beyond what the caller consumes).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from .schema import shard_count, shard_of


def day_pk(prefix: str, day: str, key: str) -> str:
    """The listing partition of an entry of `day` (YYYY-MM-DD) whose own key is `key`."""
    return f"{prefix}#{day}#{shard_of(key)}"


def read_day(table: Any, prefix: str, day: str, newest_first: bool = False) -> Iterator[dict]:
    """Every entry of one day's listing, in `list_sk` order across the shards (one paged Query each)."""
    shards = [
        table.query("list_pk = :p", {":p": f"{prefix}#{day}#{s}"}, index="list", forward=not newest_first)
        for s in range(shard_count())
    ]
    return heapq.merge(*shards, key=lambda item: str(item["list_sk"]), reverse=newest_first)
