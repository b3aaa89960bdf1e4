"""Small helpers that speak the HTTP contract (tests read as journeys)."""

from __future__ import annotations

import json
from typing import Any

ADMIN = {"Authorization": "Bearer local-admin-key"}


class Api:
    """Wraps chalice.test.Client: JSON in, (status, json) out."""

    def __init__(self, client: Any) -> None:
        self.c = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        key: str | None = None,
        headers: dict | None = None,
    ) -> tuple[int, Any]:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if key:
            h["Idempotency-Key"] = key
        raw = body if isinstance(body, (bytes, str)) else (json.dumps(body).encode() if body is not None else b"")
        r = self.c.http.request(method, path, headers=h, body=raw.encode() if isinstance(raw, str) else raw)
        text = r.body.decode() if r.body else ""
        try:
            return r.status_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return r.status_code, text

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("POST", path, {} if body is None else body, **kw)

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.call("GET", path, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.call("PUT", path, {} if body is None else body, **kw)

    def delete(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.call("DELETE", path, **kw)

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.call(method, path, body, headers=dict(ADMIN))

    # -- journeys --------------------------------------------------------------------
    def sign_in(self, code: str, device_id: str | None = None, provider: str = "sandbox") -> str:
        body = {"provider": provider, "code": code}
        if device_id:
            body["device_id"] = device_id
        status, out = self.post("/v1/sessions", body)
        assert status == 201, out
        return out["token"]

    def member(self, code: str, device_id: str | None = None) -> str:
        """Sign in and authorize credit; returns the token."""
        token = self.sign_in(code, device_id)
        status, out = self.post("/v1/credit/authorizations", {}, token=token)
        assert status == 201, out
        return token

    def run_jobs(self) -> dict:
        status, out = self.post("/v1/sandbox/jobs/run", {})
        assert status == 200, out
        return out["processed"]

    def advance(self, seconds: int) -> str:
        status, out = self.post("/v1/sandbox/clock", {"advance_seconds": seconds})
        assert status == 200, out
        return out["now"]


class Contention:
    """Cancels every TransactWriteItems that writes an item whose pk starts with `prefix`, as DynamoDB does
    when another transaction touched one of its items, until `end()`."""

    def __init__(self, monkeypatch: Any, table: Any, prefix: str) -> None:
        from botocore.exceptions import ClientError

        self.hits, self.on, real = 0, True, table.client.transact_write_items

        def transact_write_items(**kwargs: Any) -> Any:
            items = kwargs["TransactItems"]
            if self.on and any(_pk(item).startswith(prefix) for item in items):
                self.hits += 1
                reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(items) - 1)
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                        "CancellationReasons": reasons,
                    },
                    "TransactWriteItems",
                )
            return real(**kwargs)

        monkeypatch.setattr(table.client, "transact_write_items", transact_write_items)

    def end(self) -> None:
        self.on = False


def _pk(item: dict) -> str:
    (op,) = item.values()
    return (op.get("Item") or op.get("Key"))["pk"]["S"]


def metric_points(stdout: str, name: str) -> list[dict]:
    """The CloudWatch Embedded Metric Format records of metric `name` printed to stdout."""
    points = []
    for line in stdout.splitlines():
        if line.startswith('{"_aws"'):
            record = json.loads(line)
            if name in record:
                points.append(record)
    return points


def _sweep_then_work(deps: Any, sweep_name: str, queue: str) -> int:
    """Run a sweep, then the worker of the queue it feeds until the queue is empty; the workers' results
    summed (what each one enqueued or folded)."""
    from chalicelib.jobs.tables import SWEEPS, WORKERS

    SWEEPS[sweep_name].fn(deps, deps.clock.now())
    total = 0
    while messages := deps.queues.receive(queue, max_messages=10, visibility=60):
        for m in messages:
            total += int(WORKERS[queue](deps, json.loads(m["Body"])) or 0)
            deps.queues.delete(queue, m["ReceiptHandle"])
    return total


def sweep_due(deps: Any, sweep_name: str) -> int:
    """Run a timer sweep and the shard readers it hands its shards to (what the deployed timer-shards
    workers do in parallel); returns how many due items they put on the kind's queue."""
    from chalicelib.jobs.registry import SHARD_QUEUE

    return _sweep_then_work(deps, sweep_name, SHARD_QUEUE)


def fold_metrics(deps: Any) -> int:
    """Fold the analytics deltas written so far into the counters (what the table's stream does within
    seconds when deployed; the fold_metrics sweep and its workers here); returns how many were folded."""
    from chalicelib.jobs.metrics import QUEUE

    return _sweep_then_work(deps, "fold_metrics", QUEUE)
