"""Webhooks: commit -> first delivery attempt on the real local stack (`make run` in a subprocess, a
receiver on loopback), with events fed by the table's stream (after) and by the outbox sweep alone
(before, CREDITFIRST_LOCAL_EVENTS=outbox); and deliveries per second by one worker.

Latency is measured from just before the request that commits the event is sent (an upper bound:
it includes that request's own time) to the receiver's reading of the POST.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from bench.common import PROJECT_DIR  # noqa: F401 (puts the project on sys.path)

GOALS = {
    "stream_commit_to_attempt_median_s": "<= 2",
    "stream_commit_to_attempt_p95_s": "<= 5",
    "outbox_commit_to_attempt_median_s": "before (sweep every 5 s locally)",
    "outbox_commit_to_attempt_p95_s": "before",
    "deliveries_per_second_one_worker": "",
    "dynamodb_calls_per_delivery": "claim, BatchGetItem (endpoint + event), outcome",
}
EVENTS = 20
ADMIN = {"Authorization": "Bearer local-admin-key"}


def _latencies(mode: str) -> list[float]:
    from tests.local_stack import LocalStack, call
    from tests.webhook_receiver import Receiver

    extra = {"CREDITFIRST_LOCAL_EVENTS": "outbox"} if mode == "outbox" else {}
    stack = LocalStack(Path(tempfile.mkdtemp()) / f"bench-{mode}.log", extra).start()
    try:
        with Receiver() as receiver:
            arrived: dict[str, float] = {}
            handler = receiver.server.RequestHandlerClass
            original = handler.do_POST

            def timed(self: Any) -> None:
                arrived[self.headers["Creditfirst-Event-Id"]] = time.monotonic()
                original(self)

            handler.do_POST = timed  # type: ignore[method-assign]
            status, _ = call(
                stack.base,
                "POST",
                "/v1/admin/webhooks",
                {"url": receiver.url, "events": ["scenario.updated"]},
                headers=ADMIN,
            )
            assert status == 201
            name = call(stack.base, "GET", "/v1/admin/scenarios", headers=ADMIN)[1]["items"][0]["name"]
            sent: list[float] = []
            for i in range(EVENTS):
                sent.append(time.monotonic())
                status, out = call(
                    stack.base, "PUT", f"/v1/admin/scenarios/{name}", {"threshold": 600 + i % 2 * 10}, headers=ADMIN
                )
                assert status == 200, out
                time.sleep(0.25)
            deadline = time.monotonic() + 60
            while len(arrived) < EVENTS and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(arrived) == EVENTS, f"{len(arrived)} of {EVENTS} events arrived"
            # the requests ran one after another, so the i-th event by commit time is the i-th request
            listed = call(stack.base, "GET", "/v1/admin/events?type=scenario.updated&limit=100", headers=ADMIN)[1]
            ids = [e["id"] for e in sorted(listed["items"], key=lambda e: e["created_at"])]
            return [arrived[i] - s for i, s in zip(ids, sent, strict=True)]
    finally:
        stack.stop()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _throughput(n: int = 200) -> tuple[float, float]:
    """Pending deliveries to a loopback receiver, handled by one worker (the local stack's one poller)."""
    from bench.common import CallCounter, _fresh_deps
    from chalicelib.jobs.runner import drain
    from chalicelib.services.webhooks.log import record_event
    from chalicelib.store.uow import UnitOfWork
    from tests.webhook_receiver import Receiver

    deps = _fresh_deps("webhooks")
    with Receiver() as receiver:
        from chalicelib.services.webhooks import endpoints

        uow = UnitOfWork(deps.table, deps.clock.now())
        endpoints.register(deps.table, uow, "wh_bench", receiver.url, ["*"], local=True)
        uow.commit()
        now = deps.clock.now()
        for i in range(n):
            record_event(
                deps,
                {
                    "pk": "AUDIT#bench",
                    "sk": f"{i:06d}",
                    "entity_id": "bench",
                    "action": "bench",
                    "actor": "system",
                    "at": now.isoformat().replace("+00:00", "Z"),
                    "event_type": "product.stock_added",
                    "data": {"quantity": i},
                },
            )
        counter = CallCounter(deps.table.client)
        started = time.monotonic()
        done = 0
        with counter.measure() as calls:
            while done < n:
                moved, _failed = drain(deps, "webhook-deliveries", max_rounds=1000)
                done += moved
                if not moved:
                    break
        elapsed = time.monotonic() - started
        assert len(receiver.received) == n
    return round(n / elapsed, 1), round(len(calls) / n, 2)


def measure() -> dict[str, Any]:
    after = _latencies("stream")
    before = _latencies("outbox")
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        rate, calls = _throughput()
    return {
        "stream_commit_to_attempt_median_s": round(statistics.median(after), 3),
        "stream_commit_to_attempt_p95_s": round(_p95(after), 3),
        "outbox_commit_to_attempt_median_s": round(statistics.median(before), 3),
        "outbox_commit_to_attempt_p95_s": round(_p95(before), 3),
        "deliveries_per_second_one_worker": rate,
        "dynamodb_calls_per_delivery": calls,
    }


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:40} {value:>10}  {GOALS.get(key, '')}")
