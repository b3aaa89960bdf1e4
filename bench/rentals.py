"""Rental figures: DynamoDB round trips of POST /v1/rentals and of a return (route + settlement worker),
and the items an idle overdue sweep reads with 0 and with 1,000 open rentals not yet due.

Standalone: `python bench/rentals.py` (embedded endpoint, fresh table). Round trips made by the sandbox
provider (it keeps its own ledger in the same table, standing in for Alipay/WeChat) are counted apart.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import call, measure_sweep, start_split  # noqa: E402

PROVIDER_METHODS = (
    "freeze",
    "collect_deposit",
    "capture_from_freeze",
    "release",
    "refund",
    "record_fulfilment",
    "query",
    "login",
    "authorize_credit",
    "charge",
)
GOALS = {
    "create_round_trips": "<= 3 (with Idempotency-Key)",
    "return_round_trips": "route only; settlement worker separately",
    "sweep_items_read_0_open": "does not grow",
    "sweep_items_read_1000_open": "does not grow",
    "renew_round_trips": "<= 3 (with Idempotency-Key)",
    "buyout_route_round_trips": "<= 3 of its own (with Idempotency-Key)",
    "damage_round_trips": "<= 3 (with Idempotency-Key)",
    "inspection_sweep_items_read_0": "does not grow",
    "inspection_sweep_items_read_1000_inspecting": "does not grow",
}


def _open_rentals(deps: Any, n: int, status: str = "active", prefix: str = "rt_bench") -> None:
    """n open rentals (active, or inspecting) whose timers are far in the future (not due)."""
    from chalicelib.clock import iso
    from chalicelib.services.rentals.store import timer

    now = deps.clock.now()
    items = []
    for i in range(n):
        rid = f"{prefix}{i:06d}"
        items.append(
            {
                "pk": f"RENTAL#{rid}",
                "sk": "RENTAL",
                "type": "rental",
                "id": rid,
                "status": status,
                "member_id": "m_bench",
                "return_by": iso(now + timedelta(days=30)),
                **timer(rid, now + timedelta(days=31)),
            }
        )
    deps.table.batch_write(items)


def measure() -> dict[str, Any]:
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        return _measure()


def _measure() -> dict[str, Any]:
    from chalicelib.jobs.runner import handle_record, run_all

    deps, counter, client = start_split("rentals", PROVIDER_METHODS)
    token = call(client, "POST", "/v1/sessions", {"provider": "sandbox", "code": "bench:720"})["token"]
    call(client, "POST", "/v1/credit/authorizations", {}, token)
    body = {"scenario": "books", "item_id": "b1", "item_value": 50_000, "daily_rent": 500, "days": 7}
    deps.clock.now()  # warm the sandbox clock cache: a request's own round trips are what we count
    with counter.measure() as create:
        rental = call(client, "POST", "/v1/rentals", body, token, key="bench-1")
    run_all(deps)  # the freeze is confirmed
    deps.clock.now()
    with counter.measure() as ret:
        call(client, "POST", f"/v1/rentals/{rental['id']}/return", {}, token, key="bench-2")
    msgs = deps.queues.receive("rental-settlements", max_messages=10)
    with counter.measure() as settle:
        handle_record("rental-settlements", json.loads(msgs[0]["Body"]), deps)

    idle0 = measure_sweep(deps, counter, "deduct_overdue_rentals")
    _open_rentals(deps, 1000)
    idle1000 = measure_sweep(deps, counter, "deduct_overdue_rentals")
    _make_due(deps, "rt_bench000007")
    one_due = measure_sweep(deps, counter, "deduct_overdue_rentals")
    life = _life(deps, counter, client, token, body)
    return {
        **life,
        "create_round_trips": len(create["app"]),
        "create_calls": "+".join(create["app"]),
        "create_provider_round_trips": len(create["provider"]),
        "return_round_trips": len(ret["app"]),
        "return_calls": "+".join(ret["app"]),
        "settlement_worker_round_trips": len(settle["app"]),
        "settlement_worker_calls": "+".join(settle["app"]),
        "settlement_provider_round_trips": len(settle["provider"]),
        "sweep_items_read_0_open": idle0["items_read"],
        "sweep_queries_0_open": idle0["queries"],
        "sweep_items_read_1000_open": idle1000["items_read"],
        "sweep_queries_1000_open": idle1000["queries"],
        "sweep_items_read_1000_open_1_due": one_due["items_read"],
    }


def _life(deps: Any, counter: Any, client: Any, token: str, body: dict) -> dict[str, Any]:
    """Round trips of renew, buyout and a damage record (routes), and the inspection hold's timer sweep."""
    from chalicelib.jobs.runner import run_all
    from chalicelib.services.rentals import life

    first = call(client, "POST", "/v1/rentals", {**body, "item_id": "b2"}, token, key="bench-3")
    run_all(deps)
    deps.clock.now()
    with counter.measure() as renew:
        call(client, "POST", f"/v1/rentals/{first['id']}/renew", {"days": 3}, token, key="bench-5")
    damage = {"lines": [{"name": "damage", "amount": 1_000}], "evidence": ["https://e.example/1.jpg"]}
    deps.clock.now()
    admin = {"Authorization": "Bearer local-admin-key", "Content-Type": "application/json", "Idempotency-Key": "b6"}
    with counter.measure() as dmg:
        r = client.http.request(
            "POST", f"/v1/admin/rentals/{first['id']}/damages", headers=admin, body=json.dumps(damage).encode()
        )
    assert r.status_code == 201, r.body
    real = life.settlement.try_buyout
    life.settlement.try_buyout = lambda deps, item: "measured apart"  # the route's own round trips first
    try:
        deps.clock.now()
        with counter.measure() as buy:
            call(client, "POST", f"/v1/rentals/{first['id']}/buyout", {}, token, key="bench-7")
    finally:
        life.settlement.try_buyout = real
    item = deps.table.get(f"RENTAL#{first['id']}", "RENTAL")
    with counter.measure() as buy_settle:
        life.settlement.try_buyout(deps, item)
    idle0 = measure_sweep(deps, counter, "deduct_overdue_rentals")
    _open_rentals(deps, 1000, "inspecting", "rt_insp")
    idle1000 = measure_sweep(deps, counter, "deduct_overdue_rentals")
    return {
        "renew_round_trips": len(renew["app"]),
        "renew_calls": "+".join(renew["app"]),
        "damage_round_trips": len(dmg["app"]),
        "damage_calls": "+".join(dmg["app"]),
        "buyout_route_round_trips": len(buy["app"]),
        "buyout_route_calls": "+".join(buy["app"]),
        "buyout_settlement_round_trips": len(buy_settle["app"]),
        "buyout_settlement_calls": "+".join(buy_settle["app"]),
        "buyout_provider_round_trips": len(buy_settle["provider"]),
        "inspection_sweep_items_read_0": idle0["items_read"],
        "inspection_sweep_items_read_1000_inspecting": idle1000["items_read"],
    }


def _make_due(deps: Any, rental_id: str) -> None:
    from chalicelib.clock import iso

    deps.table.update(
        f"RENTAL#{rental_id}", "RENTAL", "SET due_at = :d", values={":d": iso(deps.clock.now() - timedelta(minutes=1))}
    )


def main() -> None:
    figures = measure()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value!s:>28}  {GOALS.get(key, '')}")


if __name__ == "__main__":
    main()
