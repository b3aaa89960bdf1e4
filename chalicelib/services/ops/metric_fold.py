"""Analytics counters folded outside the money transactions.

A state change never writes a counter item that every other member's change also writes: it puts one
small delta item of its own (`MDELTA#<random>`, written by metrics.py in the same transaction, so it
exists exactly when the change does). The counters are then folded from those deltas:
- within seconds by the table's stream (jobs/stream.py hands every delta INSERT of a batch to `fold`);
- and by the `fold_metrics` sweep, the safety net for any delta a stream never delivered (a function
  that kept failing past its retries): each delta carries a timer on the sparse `due` index until folded.

Exactly once per delta, whoever folds it and however often: the fold transaction marks each delta
`folded_at` under the condition that it is not yet marked, in the same transaction as the counter
updates. A delta already folded (a stream batch delivered twice, the sweep and the stream racing, a
worker that died after some chunks committed) is refused by its condition and left out on the retry.
A batch's deltas are summed first, so each counter item gets one update per transaction.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Iterable

from ...clock import iso
from ...domain.errors import DomainError
from ...ports import Deps
from ...store.schema import shard_of
from ...store.uow import Retry, UnitOfWork

DELTA_TYPE = "metric_delta"
TIMER_KIND = "metric"
COUNTER_SHARDS = 4  # each counter spread over this many items: concurrent folds rarely meet
MAX_ITEMS = 25  # items per fold transaction (moto's cap; DynamoDB allows 100)
MAX_ATTEMPTS = 8
KEEP_DAYS = 7  # a folded delta lingers this long (TTL), for audit and redelivery checks


def delta_item(now: datetime, deltas: list[dict]) -> dict:
    """The delta item a state change puts in its own transaction: [{"pk", "sk", "add", "set"}], where sk
    is the counter's sort key without its shard ("<day>" or "TOTAL")."""
    token = secrets.token_hex(8)
    return {
        "pk": f"MDELTA#{token}",
        "sk": "MDELTA",
        "type": DELTA_TYPE,
        "deltas": deltas,
        "at": iso(now),
        "due_pk": f"timer#{TIMER_KIND}#{shard_of(token)}",
        "due_at": iso(now),
        "ttl": int((now + timedelta(days=KEEP_DAYS)).timestamp()),
    }


def fold(deps: Deps, deltas: Iterable[dict], now: datetime) -> int:
    """Fold delta items into the counters, exactly once each; returns how many were folded now."""
    pending = [d for d in deltas if d.get("type") == DELTA_TYPE and not d.get("folded_at")]
    folded = 0
    for chunk in _chunks(pending):
        folded += _fold_chunk(deps, chunk, now)
    return folded


def fold_one(deps: Deps, body: dict) -> None:
    """The sweep's worker: one delta whose timer came due (the stream did not fold it first)."""
    item = deps.table.get(body["pk"], body["sk"])
    if item:
        fold(deps, [item], deps.clock.now())


def _sums(chunk: list[dict]) -> dict[tuple[str, str], tuple[dict, dict]]:
    """(counter pk, sk without shard) -> (summed ADDs, labels to SET)."""
    out: dict[tuple[str, str], tuple[dict, dict]] = {}
    for delta in chunk:
        for d in delta["deltas"]:
            add, labels = out.setdefault((d["pk"], d["sk"]), ({}, {}))
            for name, value in d["add"].items():
                add[name] = add.get(name, 0) + int(value)
            labels.update({k: v for k, v in d.get("set", {}).items() if v is not None})  # no label is None
    return out


def _chunks(pending: list[dict]) -> Iterable[list[dict]]:
    """Deltas grouped so that each transaction holds at most MAX_ITEMS items (deltas + counter items)."""
    chunk: list[dict] = []
    counters: set[tuple[str, str]] = set()
    for delta in pending:
        touched = {(d["pk"], d["sk"]) for d in delta["deltas"]}
        if chunk and len(chunk) + 1 + len(counters | touched) > MAX_ITEMS:
            yield chunk
            chunk, counters = [], set()
        chunk.append(delta)
        counters |= touched
    if chunk:
        yield chunk


def _fold_chunk(deps: Deps, chunk: list[dict], now: datetime) -> int:
    for _ in range(MAX_ATTEMPTS):
        if not chunk:
            return 0
        uow = UnitOfWork(deps.table, now, "system")
        for delta in chunk:  # first, so a refusal's position names the delta
            uow.update(
                delta["pk"],
                delta["sk"],
                set={"folded_at": iso(now)},
                remove=["due_pk", "due_at"],
                condition="attribute_exists(pk) AND attribute_not_exists(folded_at)",
            )
        for (pk, sk), (add, labels) in _sums(chunk).items():
            add = {k: v for k, v in add.items() if v}
            if add:  # a random shard: concurrent folds (stream shards, the sweep) rarely touch one item
                uow.update(pk, f"{sk}#{random.randrange(COUNTER_SHARDS)}", add=add, set=labels or None)
        try:
            uow.commit()
            return len(chunk)
        except (Retry, DomainError) as exc:
            chunk = _not_yet_folded(chunk, exc)
    raise RuntimeError("metric fold still contended; the stream or the sweep will fold it again")


def _not_yet_folded(chunk: list[dict], exc: Exception) -> list[dict]:
    """Leave out the deltas whose condition refused them (already folded, or gone)."""
    reasons = getattr(exc.__cause__, "reasons", None) or []
    return [d for i, d in enumerate(chunk) if i >= len(reasons) or reasons[i] != "ConditionalCheckFailed"]
