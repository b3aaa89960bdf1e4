"""fold_metrics: the safety net of the analytics counters. The stream folds deltas within seconds
(jobs/stream.py); this sweep hands every shard of the deltas' timers to the metric-folds queue, whose
worker folds whatever the stream has not (a function that kept failing past its retries), in batches."""

from __future__ import annotations

from datetime import datetime

from ..clock import iso, parse_iso
from ..ports import Deps
from ..services.ops import metric_fold
from ..store.schema import shard_count
from .registry import due_in_shard

QUEUE = "metric-folds"


def fold_metrics(deps: Deps, now: datetime) -> int:
    """One message per shard; returns the shards handed out."""
    shards = shard_count()
    deps.queues.send_many(QUEUE, [{"shard": s, "now": iso(now)} for s in range(shards)])
    return shards


def fold_shard(deps: Deps, body: dict) -> int:
    """Every delta of one shard not yet folded, folded in batches; returns how many were folded now."""
    due = due_in_shard(deps, metric_fold.TIMER_KIND, int(body["shard"]), parse_iso(body["now"]))
    return metric_fold.fold(deps, due, deps.clock.now())
