"""Running sweeps and workers: the Lambda entry points and the sandbox's run-everything-now.

One record handler per queue; the batch wrapper reports failures per record
(`batchItemFailures`) so one bad message does not retry the batch.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from ..bootstrap import deps
from ..log import logger
from ..ports import Deps
from .metrics import QUEUE as FOLD_QUEUE
from .tables import SWEEPS, WORKERS


class Activity:
    """Background pollers and the scheduler work inside `busy()`; run_all works inside `exclusive()`,
    which pauses them and waits for work they already took, so "jobs/run answered" means done."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._busy = 0
        self._paused = 0

    @contextmanager
    def busy(self) -> Iterator[None]:
        with self._cv:
            while self._paused:
                self._cv.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._cv:
                self._busy -= 1
                self._cv.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cv:
            self._paused += 1
            self._cv.wait_for(lambda: self._busy == 0, timeout=30)
        try:
            yield
        finally:
            with self._cv:
                self._paused -= 1
                self._cv.notify_all()


ACTIVITY = Activity()


def run_sweep(name: str, d: Deps | None = None) -> int:
    d = d or deps()
    count = SWEEPS[name].fn(d, d.clock.now())
    logger.info("sweep ran", extra={"sweep": name, "enqueued": count})
    return count


def handle_record(queue: str, body: dict, d: Deps | None = None) -> None:
    WORKERS[queue](d or deps(), body)


def handle_batch(queue: str, event: Any) -> dict:
    """Chalice SQS event -> per-record handling -> {"batchItemFailures": [...]}."""
    failures = []
    for record in event:
        try:
            handle_record(queue, json.loads(record.body))
        except Exception:  # one bad record must not fail the others; it is retried, then dead-lettered
            logger.exception("record failed", extra={"queue": queue, "message_id": record.message_id})
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def handle_stream(event: Any) -> dict:
    """Chalice DynamoDB stream event -> {"batchItemFailures": [...]} (by sequence number)."""
    from .stream import handle_chalice_event

    return handle_chalice_event(deps(), event)


def drain(d: Deps, queue: str, max_rounds: int = 50) -> tuple[int, int]:
    """Receive and handle every visible message of one queue; failed ones go back with a delay."""
    done = failed = 0
    for _ in range(max_rounds):
        messages = d.queues.receive(queue, max_messages=10, visibility=30)
        if not messages:
            break
        for msg in messages:
            try:
                handle_record(queue, json.loads(msg["Body"]), d)
                d.queues.delete(queue, msg["ReceiptHandle"])
                done += 1
            except Exception:
                logger.exception("record failed", extra={"queue": queue})
                failed += 1
    return done, failed


def run_all(d: Deps | None = None, rounds: int = 10) -> dict[str, int]:
    """Every sweep once at the clock's now, then drain every queue until nothing moves."""
    d = d or deps()
    processed: dict[str, int] = {}
    with ACTIVITY.exclusive():
        now = d.clock.now()
        for name, spec in SWEEPS.items():
            processed[f"sweep:{name}"] = processed.get(f"sweep:{name}", 0) + spec.fn(d, now)
        for _ in range(rounds):
            moved = 0
            for queue in WORKERS:
                done, failed = drain(d, queue)
                processed[queue] = processed.get(queue, 0) + done
                if failed:
                    processed[f"{queue}:failed"] = processed.get(f"{queue}:failed", 0) + failed
                moved += done
            if not moved:
                break
        # What the table's stream does within seconds when deployed: fold the analytics deltas this
        # run's own workers wrote, so the counters read after a run include them.
        processed["sweep:fold_metrics"] += SWEEPS["fold_metrics"].fn(d, d.clock.now())
        processed[FOLD_QUEUE] = processed.get(FOLD_QUEUE, 0) + drain(d, FOLD_QUEUE)[0]
    return processed
