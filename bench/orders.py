"""Order figures: DynamoDB round trips of POST /v1/orders (and of confirm), and the items an idle
`charge_due_orders` sweep reads with 0 and with 1,000 pending orders whose charge is not yet due.

Standalone: `python bench/orders.py` (embedded endpoint, fresh table). Calls the sandbox provider
makes (its ledger lives in the same table, standing in for Alipay/WeChat) are counted apart.
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))


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

    def _after(self, parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and model.name == "Query" and parsed:
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

    @contextmanager
    def measure(self) -> Iterator[dict]:
        a, p, r = len(self.app), len(self.provider), self.items_read
        out: dict = {}
        yield out
        out.update(app=self.app[a:], provider=self.provider[p:], items_read=self.items_read - r)


def _count_provider(provider: Any, counter: Counter) -> None:
    for name in ("charge", "refund", "login", "authorize_credit"):
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
    os.environ["CREDITFIRST_TABLE"] = f"bench-orders-{suffix}"
    os.environ["CREDITFIRST_QUEUE_PREFIX"] = f"bench-orders-{suffix}-"
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
    _count_provider(deps.provider("sandbox"), counter)
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
    assert r.status_code < 300, r.body
    return json.loads(r.body) if r.body else None


def _pending_orders(deps: Any, n: int) -> None:
    """n pending pay-later orders whose charge_at is 14 days away (written directly, in batches)."""
    from chalicelib.clock import iso
    from chalicelib.services.charges import pending_fields

    later = deps.clock.now() + timedelta(days=14)
    items = []
    for i in range(n):
        oid = f"ord_bench{i:06d}"
        items.append({"pk": f"ORDER#{oid}", "sk": "ORDER", "type": "order", "id": oid, "member_id": "m_bench",
                      "status": "pending_charge", "payable": 1_000, "charge_at": iso(later),
                      **pending_fields("order", oid, 1_000, later)})
    deps.table.batch_write(items)


def _sweep(deps: Any, counter: Counter) -> dict:
    from chalicelib.jobs.registry import SWEEPS
    from chalicelib.jobs.runner import load

    load()
    with counter.measure() as m:
        enqueued = SWEEPS["charge_due_orders"].fn(deps, deps.clock.now())
    return {"enqueued": enqueued, "queries": m["app"].count("Query"), "items_read": m["items_read"]}


def main() -> dict:
    deps, counter, client = start()
    with client:
        token = _call(client, "POST", "/v1/sessions", {"provider": "sandbox", "code": "bench:760"})["token"]
        _call(client, "POST", "/v1/credit/authorizations", {}, token=token)
        body = {"kind": "pay_later", "scenario": "books", "amount": 10_000}
        with counter.measure() as keyed:
            order = _call(client, "POST", "/v1/orders", body, token=token, key=uuid.uuid4().hex)
        with counter.measure() as plain:
            _call(client, "POST", "/v1/orders", body, token=token)
        with counter.measure() as get_one:
            _call(client, "GET", f"/v1/orders/{order['id']}", None, token=token)
        with counter.measure() as confirm:
            _call(client, "POST", f"/v1/orders/{order['id']}/confirm", {}, token=token, key=uuid.uuid4().hex)
        idle_0 = _sweep(deps, counter)
        _pending_orders(deps, 1_000)
        idle_1000 = _sweep(deps, counter)
    return {
        "post_orders_round_trips_with_key": len(keyed["app"]), "post_orders_calls_with_key": keyed["app"],
        "post_orders_round_trips_without_key": len(plain["app"]),
        "get_order_round_trips": len(get_one["app"]),
        "confirm_round_trips": {"app": len(confirm["app"]), "provider": len(confirm["provider"]),
                                "calls": confirm["app"]},
        "idle_sweep_0_pending": idle_0, "idle_sweep_1000_pending_not_due": idle_1000,
    }


GOALS = {
    "POST /v1/orders round trips (Idempotency-Key)": "<= 3",
    "GET /v1/orders/{id} round trips": "1",
    "idle charge sweep items read, 0 pending": "flat",
    "idle charge sweep items read, 1,000 pending": "flat",
}


def measure() -> dict[str, Any]:
    """The figures for `make bench`'s table."""
    raw = main()
    return {
        "POST /v1/orders round trips (Idempotency-Key)": raw["post_orders_round_trips_with_key"],
        "POST /v1/orders round trips (no key)": raw["post_orders_round_trips_without_key"],
        "GET /v1/orders/{id} round trips": raw["get_order_round_trips"],
        "POST /v1/orders/{id}/confirm round trips (app)": raw["confirm_round_trips"]["app"],
        "POST /v1/orders/{id}/confirm round trips (sandbox provider)": raw["confirm_round_trips"]["provider"],
        "idle charge sweep queries, 0 pending": raw["idle_sweep_0_pending"]["queries"],
        "idle charge sweep items read, 0 pending": raw["idle_sweep_0_pending"]["items_read"],
        "idle charge sweep queries, 1,000 pending": raw["idle_sweep_1000_pending_not_due"]["queries"],
        "idle charge sweep items read, 1,000 pending": raw["idle_sweep_1000_pending_not_due"]["items_read"],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
