"""The shapes of sweeps and workers (their table is tables.py), and the timer sweep every feature uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..clock import iso
from ..ports import Deps
from ..store.schema import shard_count

Sweep = Callable[[Deps, datetime], int]
Worker = Callable[[Deps, dict], object]  # what a worker returns is only for logs and tests


@dataclass(frozen=True)
class SweepSpec:
    name: str
    fn: Sweep
    every_seconds: int  # how often the local scheduler runs it (the deployed schedule is in lambdas.py)


SHARD_QUEUE = "timer-shards"


def due_in_shard(deps: Deps, kind: str, shard: int, now: datetime, limit: int | None = None) -> list[dict]:
    """Items of one shard whose timer of `kind` is due: one paged Query on the sparse `due` index, no Scan.
    Reads grow with due items only, never with items that are not due."""
    return list(
        deps.table.query(
            "due_pk = :p AND due_at <= :now",
            {":p": f"timer#{kind}#{shard}", ":now": iso(now)},
            index="due",
            limit=limit,
        )
    )


def due_keys(deps: Deps, kind: str, now: datetime, limit: int = 1000) -> list[dict]:
    """Due items of every shard in one call: for kinds with few timers (campaigns), read by their sweep."""
    return [i for shard in range(shard_count()) for i in due_in_shard(deps, kind, shard, now, limit)]


def enqueue_due(deps: Deps, kind: str, queue: str, now: datetime) -> int:
    """The standard sweep: one message per shard of `kind` on the timer-shards queue, so workers read the
    shards in parallel (sweep_shard); returns the number of shards handed out."""
    shards = shard_count()
    deps.queues.send_many(
        SHARD_QUEUE, [{"kind": kind, "shard": s, "queue": queue, "now": iso(now)} for s in range(shards)]
    )
    return shards


def sweep_shard(deps: Deps, body: dict) -> int:
    """One shard of one timer kind: its due items -> one message each ({pk, sk, due_at}) on the kind's queue.
    A repeated delivery enqueues them again, which their workers' conditional writes make harmless."""
    now = datetime.fromisoformat(body["now"])
    items = due_in_shard(deps, body["kind"], int(body["shard"]), now)
    deps.queues.send_many(body["queue"], [{"pk": i["pk"], "sk": i["sk"], "due_at": i["due_at"]} for i in items])
    return len(items)
