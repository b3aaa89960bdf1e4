"""The shapes of sweeps and workers (their table is tables.py), and the timer sweep every feature uses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..clock import iso
from ..ports import Deps
from ..store.schema import SHARDS

Sweep = Callable[[Deps, datetime], int]
Worker = Callable[[Deps, dict], None]


@dataclass(frozen=True)
class SweepSpec:
    name: str
    fn: Sweep
    every_seconds: int  # how often the local scheduler runs it (the deployed schedule is in lambdas.py)


def due_keys(deps: Deps, kind: str, now: datetime, limit: int = 1000) -> list[dict]:
    """Items whose timer of `kind` is due: one Query per shard on the sparse `due` index, no Scan.
    Reads grow with due items only, never with items that are not due."""
    found: list[dict] = []
    for shard in range(SHARDS):
        found.extend(deps.table.query("due_pk = :p AND due_at <= :now", {":p": f"timer#{kind}#{shard}", ":now": iso(now)},
                                      index="due", limit=limit))
    return found


def enqueue_due(deps: Deps, kind: str, queue: str, now: datetime) -> int:
    """The standard sweep: due timers of `kind` -> one message each ({pk, sk, due_at}) on `queue`."""
    items = due_keys(deps, kind, now)
    deps.queues.send_many(queue, [{"pk": i["pk"], "sk": i["sk"], "due_at": i["due_at"]} for i in items])
    return len(items)
