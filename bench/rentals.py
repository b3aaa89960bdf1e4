"""Rental figures: DynamoDB round trips of POST /v1/rentals and of a return (route + settlement worker),
and the items an idle overdue sweep reads with 0 and with 1,000 open rentals not yet due.

Standalone: `python bench/rentals.py` (embedded endpoint, fresh table). Round trips made by the sandbox
provider (it keeps its own ledger in the same table, standing in for Alipay/WeChat) are counted apart.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from contextlib import contextmanager, redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

GOALS = {
    "create_round_trips": "<= 3 (with Idempotency-Key)",
    "return_round_trips": "route only; settlement worker separately",
    "sweep_items_read_0_open": "does not grow",
    "sweep_items_read_1000_open": "does not grow",
}


class Counter:
    """DynamoDB calls through one client, split into the app's and the sandbox provider's."""

    def __init__(self, client: Any) -> None:
        self.app: list[str] = []
        self.provider: list[str] = []
        self.items_read = 0
        self.in_provider = 0
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, model: Any = None, **_: Any) -> None:
        (self.provider if self.in_provider else self.app).append(model.name)

    def _after(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and model.name == "Query" and parsed:
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

    @contextmanager
    def measure(self) -> Iterator[dict]:
        a, p, r = len(self.app), len(self.provider), self.items_read
        out: dict = {}
        yield out
        out.update(app=self.app[a:], provider=self.provider[p:], items_read=self.items_read - r)


def _wrap_provider(provider: Any, counter: Counter) -> None:
    for name in ("freeze", "collect_deposit", "capture_from_freeze", "release", "refund", "record_fulfilment",
                 "query", "login", "authorize_credit", "charge"):
        original = getattr(provider, name)

        def wrapped(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counter.in_provider += 1
            try:
                return _original(*args, **kwargs)
            finally:
                counter.in_provider -= 1

        setattr(provider, name, wrapped)


def start() -> tuple[Any, Counter, Any]:
    from chalicelib.local.endpoint import EmbeddedAws
    from chalicelib.local.stack import FAKE_CREDENTIALS, stage_environment

    if not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = EmbeddedAws().start()
    for key, value in {**FAKE_CREDENTIALS, **stage_environment("local")}.items():
        os.environ.setdefault(key, value)
    suffix = uuid.uuid4().hex[:6]
    os.environ["CREDITFIRST_TABLE"] = f"bench-rentals-{suffix}"
    os.environ["CREDITFIRST_QUEUE_PREFIX"] = f"bench-rentals-{suffix}-"
    from chalice.test import Client

    from chalicelib import bootstrap
    from chalicelib.local import gateway
    from chalicelib.local.resources import ensure_all
    from chalicelib.services.scenarios import seed_defaults

    bootstrap.reset()
    deps = bootstrap.bootstrap()
    ensure_all(deps)
    seed_defaults(deps.table, deps.settings.policy, deps.clock.now())
    counter = Counter(deps.table.client)
    _wrap_provider(deps.provider("sandbox"), counter)
    gateway.install()
    from app import app

    return deps, counter, Client(app, stage_name="local", project_dir=str(PROJECT_DIR))


def _call(client: Any, method: str, path: str, body: Any, token: str | None = None, key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    r = client.http.request(method, path, headers=headers, body=json.dumps(body).encode())
    return json.loads(r.body) if r.body else None


def _open_rentals(deps: Any, n: int) -> None:
    """n active rentals whose timers are far in the future (not due)."""
    from chalicelib.clock import iso
    from chalicelib.services.rental_store import timer

    now = deps.clock.now()
    items = []
    for i in range(n):
        rid = f"rt_bench{i:06d}"
        items.append({"pk": f"RENTAL#{rid}", "sk": "RENTAL", "type": "rental", "id": rid, "status": "active",
                      "member_id": "m_bench", "return_by": iso(now + timedelta(days=30)),
                      **timer(rid, now + timedelta(days=31))})
    deps.table.batch_write(items)


def measure() -> dict[str, Any]:
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        return _measure()


def _measure() -> dict[str, Any]:
    from chalicelib.jobs.registry import SWEEPS
    from chalicelib.jobs.runner import handle_record, load, run_all

    deps, counter, client = start()
    load()
    token = _call(client, "POST", "/v1/sessions", {"provider": "sandbox", "code": "bench:720"})["token"]
    _call(client, "POST", "/v1/credit/authorizations", {}, token)
    body = {"scenario": "books", "item_id": "b1", "item_value": 50_000, "daily_rent": 500, "days": 7}
    deps.clock.now()  # warm the sandbox clock cache: a request's own round trips are what we count
    with counter.measure() as create:
        rental = _call(client, "POST", "/v1/rentals", body, token, key="bench-1")
    run_all(deps)  # the freeze is confirmed
    deps.clock.now()
    with counter.measure() as ret:
        _call(client, "POST", f"/v1/rentals/{rental['id']}/return", {}, token, key="bench-2")
    msgs = deps.queues.receive("rental-settlements", max_messages=10)
    with counter.measure() as settle:
        handle_record("rental-settlements", json.loads(msgs[0]["Body"]), deps)
    sweep = SWEEPS["deduct_overdue_rentals"].fn
    now = deps.clock.now()  # read outside the measured block: the sandbox clock is cached briefly
    with counter.measure() as idle0:
        sweep(deps, now)
    _open_rentals(deps, 1000)
    now = deps.clock.now()
    with counter.measure() as idle1000:
        sweep(deps, now)
    _make_due(deps, "rt_bench000007")
    now = deps.clock.now()
    with counter.measure() as one_due:
        sweep(deps, now)
    return {
        "create_round_trips": len(create["app"]), "create_calls": "+".join(create["app"]),
        "create_provider_round_trips": len(create["provider"]),
        "return_round_trips": len(ret["app"]), "return_calls": "+".join(ret["app"]),
        "settlement_worker_round_trips": len(settle["app"]), "settlement_worker_calls": "+".join(settle["app"]),
        "settlement_provider_round_trips": len(settle["provider"]),
        "sweep_items_read_0_open": idle0["items_read"], "sweep_queries_0_open": len(idle0["app"]),
        "sweep_items_read_1000_open": idle1000["items_read"], "sweep_queries_1000_open": len(idle1000["app"]),
        "sweep_items_read_1000_open_1_due": one_due["items_read"],
    }


def _make_due(deps: Any, rental_id: str) -> None:
    from chalicelib.clock import iso

    deps.table.update(f"RENTAL#{rental_id}", "RENTAL", "SET due_at = :d",
                      values={":d": iso(deps.clock.now() - timedelta(minutes=1))})


def main() -> None:
    figures = measure()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value!s:>28}  {GOALS.get(key, '')}")


if __name__ == "__main__":
    main()
