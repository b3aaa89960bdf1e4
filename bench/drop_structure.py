"""The credit-day drop's structure, from its calls: which page message made each AWS call, what its
writes touched, and which page it handed on; then a replay of that trace on W workers with one
modelled round-trip time per call.

Why a replay: on this machine the emulators are the bottleneck (DynamoDB Local runs every transaction
under a table lock and costs ~1 ms of its CPU per item written; moto is one Python process), so wall
time with more workers measures the emulator. The replay keeps what the design decides (how many calls
each page makes, which page must wait for which, which items and partition keys two pages share) and
replaces the emulator's serial service time by a round trip that does not queue behind other callers,
as DynamoDB and SQS serve independent keys in parallel. It is a model: the speed-up it shows is the
ceiling the drop's structure allows, not a measurement of DynamoDB.

Replay rules: a page costs its own calls plus the worker's ReceiveMessage before and DeleteMessage after,
each one round trip, one after another; the next page of its shard can be received once the page's
SendMessage that hands it on has returned; a free worker takes the page that became receivable first
(SQS standard queues are roughly, not strictly, in order). The drop's own calls come first.
"""

from __future__ import annotations

import heapq
import json
import math
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

INDEX_KEYS = {"due_pk": "due", "list_pk": "list", "group_pk": "group"}  # store/schema.py INDEXES (projection ALL)
WORKER_CALLS = 2  # ReceiveMessage and DeleteMessage around each page (the worker loop's, not the page's)


def page_key(body: dict) -> str:
    return f"{body['tier']}#{body['shard']}#{body.get('after') or ''}"


def _value_size(v: dict) -> int:
    """Bytes of one attribute value by DynamoDB's item-size rules (numbers: ~1 byte per 2 digits + 1)."""
    ((kind, x),) = v.items()
    if kind == "S" or kind == "B":
        return len(x.encode() if isinstance(x, str) else x)
    if kind == "N":
        return len(x.lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(e) for k, e in x.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(e) for e in x)
    return sum(len(str(e)) for e in x)  # SS / NS / BS


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + _value_size(v) for k, v in item.items())


@dataclass
class Write:
    call: int  # index of the call in the page's calls
    item: tuple[str, str]
    partitions: list[tuple[str, int]]  # (table pk or "<index>:<index pk>", write units)


@dataclass
class Page:
    calls: list[str] = field(default_factory=list)
    handoff: int | None = None  # index of the SendMessage that hands on the next page
    next: str | None = None
    writes: list[Write] = field(default_factory=list)


def _writes(call: int, op: str, params: dict) -> list[Write]:
    """Items and partitions a write call touches, with their write units (2 per KB in a transaction, 1
    per KB on a projected index entry; an update is counted as 1 KB)."""
    if op == "TransactWriteItems":
        bodies = [(kind, body) for entry in params["TransactItems"] for kind, body in entry.items()]
        factor = 2
    elif op in ("PutItem", "UpdateItem", "DeleteItem"):
        bodies, factor = [(op.removesuffix("Item"), params)], 1
    else:
        return []
    out = []
    for kind, body in bodies:
        if kind == "ConditionCheck":
            continue
        item = body.get("Item") or body["Key"]
        key = (item["pk"]["S"], item.get("sk", {}).get("S", ""))
        kb = math.ceil(item_size(item) / 1024) if "Item" in body else 1
        parts = [(key[0], factor * kb)]
        parts += [(f"{name}:{item[attr]['S']}", kb) for attr, name in INDEX_KEYS.items() if attr in item]
        out.append(Write(call, key, parts))
    return out


class PageTrace:
    """Records, per page message, the calls made by the thread handling it (a botocore hook on the
    clients it is attached to), and the drop's own calls; other calls are not recorded."""

    def __init__(self, queue_url_part: str) -> None:
        self.queue_url_part = queue_url_part
        self.local = threading.local()
        self.lock = threading.Lock()
        self.pages: dict[str, Page] = {}
        self.drop_calls: list[str] = []

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-parameter-build", self._record)

    @contextmanager
    def drop(self) -> Iterator[None]:
        """The drop's own calls (before any page)."""
        self.local.key = ""
        try:
            yield
        finally:
            self.local.key = None

    @contextmanager
    def page(self, body: dict) -> Iterator[None]:
        key = page_key(body)
        with self.lock:
            self.pages[key] = Page()  # a page handled again (a redelivery) keeps its last trace
        self.local.key = key
        try:
            yield
        finally:
            self.local.key = None

    def _record(self, params: dict, model: Any, **_: Any) -> None:
        key = getattr(self.local, "key", None)
        if key is None:  # the worker loop's own receive and delete (counted per page in the replay)
            return
        if model.name == "GetItem" and params.get("Key", {}).get("pk") == {"S": "CLOCK"}:
            return  # the sandbox's movable clock (bootstrap.py; cached 1 s): deployed stages read the real one
        if key == "":
            self.drop_calls.append(model.name)
            return
        page = self.pages[key]
        index = len(page.calls)
        page.calls.append(model.name)
        if model.name == "SendMessage" and self.queue_url_part in params.get("QueueUrl", ""):
            page.handoff, page.next = index, page_key(json.loads(params["MessageBody"]))
        page.writes.extend(_writes(index, model.name, params))


def structure(trace: PageTrace) -> dict[str, Any]:
    """Counted from the trace: pages, chains, calls, and what pages share."""
    pages = trace.pages
    targets = {p.next for p in pages.values() if p.next}
    heads = [k for k in pages if k not in targets]
    longest = critical = 0
    for head in heads:  # a chain: each page hands on the next once its SendMessage has returned
        length, path, key = 0, 0, head
        while key in pages:
            page = pages[key]
            length += 1
            if page.handoff is None or page.next not in pages:  # the chain's last page, to its end
                path += len(page.calls) + WORKER_CALLS
                break
            path += page.handoff + 2  # ReceiveMessage, then its calls up to the SendMessage
            key = page.next
        longest, critical = max(longest, length), max(critical, path)
    per_page = [len(p.calls) + WORKER_CALLS for p in pages.values()]
    writers: dict[tuple[str, str], set[str]] = defaultdict(set)
    partition_writers: dict[str, set[str]] = defaultdict(set)
    for key, page in pages.items():
        for w in page.writes:
            writers[w.item].add(key)
            for part, _units in w.partitions:
                partition_writers[part].add(key)
    shared_partitions = Counter({p: len(k) for p, k in partition_writers.items() if len(k) > 1})
    return {
        "pages": len(pages),
        "chains": len(heads),
        "longest_chain_pages": longest,
        "round_trips": len(trace.drop_calls) + sum(per_page),
        "round_trips_per_page_max": max(per_page, default=0),
        "critical_path_round_trips": len(trace.drop_calls) + critical,
        "items_written_by_two_pages": sum(1 for k in writers.values() if len(k) > 1),
        "partition_keys_written_by_two_pages": dict(shared_partitions.most_common()),
    }


def replay(trace: PageTrace, workers: int, rtt: float, txn_rtt: float | None = None) -> dict[str, Any]:
    """Makespan of the traced pages on `workers` workers, every call one round trip of `rtt` seconds
    (a TransactWriteItems `txn_rtt`, when given), and the hottest partition key's write units per
    second in that schedule."""

    def ends(calls: list[str]) -> list[float]:
        """When each of a page's calls returns, from the page's start (the worker's receive first)."""
        out, t = [], rtt
        for op in calls:
            t += txn_rtt if txn_rtt is not None and op == "TransactWriteItems" else rtt
            out.append(t)
        return out

    pages = trace.pages
    targets = {p.next for p in pages.values() if p.next}
    start0 = len(trace.drop_calls) * rtt
    ready = [(start0, n, key) for n, key in enumerate(k for k in pages if k not in targets)]
    heapq.heapify(ready)
    free = [0.0] * workers
    seq, end = len(ready), start0
    units: dict[str, Counter[int]] = defaultdict(Counter)  # partition -> second -> write units
    while ready:
        worker_free = heapq.heappop(free)
        available, _, key = heapq.heappop(ready)
        start = max(worker_free, available)
        page = pages[key]
        returns = ends(page.calls)
        done = start + (returns[-1] if returns else rtt) + rtt  # the worker's delete last
        if page.next in pages and page.handoff is not None:
            heapq.heappush(ready, (start + returns[page.handoff], seq, page.next))
            seq += 1
        for w in page.writes:
            for part, n in w.partitions:
                units[part][int(start + returns[w.call])] += n
        heapq.heappush(free, done)
        end = max(end, done)
    scale = 1 / min(1.0, end) if end > 0 else 0.0  # a run shorter than a second: its rate per second
    peaks = {part: max(by_second.values()) * scale for part, by_second in units.items()}
    hottest = max(peaks, key=lambda p: peaks[p]) if peaks else ""
    return {"seconds": round(end, 2), "hottest_partition": hottest, "hottest_wcu_per_s": round(peaks.get(hottest, 0))}
