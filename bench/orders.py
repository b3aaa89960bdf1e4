"""Order figures: DynamoDB round trips of POST /v1/orders (and of confirm), and the items an idle
`charge_due_orders` sweep reads with 0 and with 1,000 pending orders whose charge is not yet due.

Standalone: `python bench/orders.py` (embedded endpoint, fresh table). Calls the sandbox provider
makes (its ledger lives in the same table, standing in for Alipay/WeChat) are counted apart.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import call, measure_sweep, start_split  # noqa: E402


def _pending_orders(deps: Any, n: int) -> None:
    """n pending pay-later orders whose charge_at is 14 days away (written directly, in batches)."""
    from chalicelib.clock import iso
    from chalicelib.services.orders.charges import pending_fields

    later = deps.clock.now() + timedelta(days=14)
    items = []
    for i in range(n):
        oid = f"ord_bench{i:06d}"
        items.append(
            {
                "pk": f"ORDER#{oid}",
                "sk": "ORDER",
                "type": "order",
                "id": oid,
                "member_id": "m_bench",
                "status": "pending_charge",
                "payable": 1_000,
                "charge_at": iso(later),
                **pending_fields("order", oid, 1_000, later),
            }
        )
    deps.table.batch_write(items)


def _sweep(deps: Any, counter: Any) -> dict:
    figures = measure_sweep(deps, counter, "charge_due_orders")
    return {"enqueued": len(deps.queues.receive("order-charges", max_messages=10)), **figures}


def main() -> dict:
    deps, counter, client = start_split("orders", ("charge", "refund", "login", "authorize_credit"))
    with client:
        token = call(client, "POST", "/v1/sessions", {"provider": "sandbox", "code": "bench:760"})["token"]
        call(client, "POST", "/v1/credit/authorizations", {}, token=token)
        body = {"kind": "pay_later", "scenario": "books", "amount": 10_000}
        with counter.measure() as keyed:
            order = call(client, "POST", "/v1/orders", body, token=token, key=uuid.uuid4().hex)
        with counter.measure() as plain:
            call(client, "POST", "/v1/orders", body, token=token)
        with counter.measure() as get_one:
            call(client, "GET", f"/v1/orders/{order['id']}", None, token=token)
        with counter.measure() as confirm:
            call(client, "POST", f"/v1/orders/{order['id']}/confirm", {}, token=token, key=uuid.uuid4().hex)
        idle_0 = _sweep(deps, counter)
        _pending_orders(deps, 1_000)
        idle_1000 = _sweep(deps, counter)
    return {
        "post_orders_round_trips_with_key": len(keyed["app"]),
        "post_orders_calls_with_key": keyed["app"],
        "post_orders_round_trips_without_key": len(plain["app"]),
        "get_order_round_trips": len(get_one["app"]),
        "confirm_round_trips": {
            "app": len(confirm["app"]),
            "provider": len(confirm["provider"]),
            "calls": confirm["app"],
        },
        "idle_sweep_0_pending": idle_0,
        "idle_sweep_1000_pending_not_due": idle_1000,
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
