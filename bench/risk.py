"""Risk figures: DynamoDB round trips of the admin risk routes and of the threshold job, the metric items
one scenario's adjustment reads (90 days), and contention under 10 concurrent guarded exposure updates.

Standalone: `python bench/risk.py` (embedded endpoint, fresh table).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import start_stack, table  # noqa: E402

ADMIN = {"Authorization": "Bearer local-admin-key", "Content-Type": "application/json"}
GOALS = {
    "get_blacklist": "1 Query",
    "put_blacklist": "1 read + 1 transaction",
    "delete_blacklist": "1 read + 1 transaction",
    "get_reviews": "1 Query",
    "approve_review": "1 read + 1 transaction (+ resolver's reads)",
    "get_scenarios": "1 Query",
    "put_scenario": "1 read + 1 transaction",
    "sweep_adjust_thresholds": "1 Query (+ SQS)",
    "worker_per_scenario": "1 GetItem + 1 Query + 1 transaction (+1 sandbox clock read)",
    "metric_items_read_90_days": "<= 90 x shards, whatever the volume",
    "concurrent_accepted": "6 of 10 (limit 100,000 / 15,000)",
    "concurrent_retries": "lost races re-decided",
}


def _call(client: Any, counter: Any, method: str, path: str, body: Any = None) -> int:
    with counter.measure() as calls:
        r = client.http.request(
            method, path, headers=ADMIN, body=json.dumps(body).encode() if body is not None else b""
        )
        assert r.status_code < 300, (path, r.status_code, r.body)
    return len(calls)


def measure() -> dict[str, Any]:
    deps, counter, client = start_stack()
    from chalicelib.jobs import thresholds as job
    from chalicelib.services.members import members
    from chalicelib.services.risk import reviews
    from chalicelib.store.uow import Retry, UnitOfWork

    h = {"Content-Type": "application/json"}
    r = client.http.post(
        "/v1/sessions", headers=h, body=json.dumps({"provider": "sandbox", "code": "bench:580"}).encode()
    )
    member_id = json.loads(r.body)["member_id"]
    out: dict[str, Any] = {}
    out["put_blacklist"] = _call(client, counter, "PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "bench"})
    out["get_blacklist"] = _call(client, counter, "GET", "/v1/admin/blacklist")
    out["delete_blacklist"] = _call(client, counter, "DELETE", f"/v1/admin/blacklist/{member_id}")
    uow = UnitOfWork(deps.table, deps.clock.now())
    rid = reviews.stage_open(uow, "bench_kind", "b1", member_id, "velocity")
    uow.commit()
    out["get_reviews"] = _call(client, counter, "GET", "/v1/admin/reviews?status=pending")
    out["approve_review"] = _call(client, counter, "POST", f"/v1/admin/reviews/{rid}/approve", {})
    out["get_scenarios"] = _call(client, counter, "GET", "/v1/admin/scenarios")
    out["put_scenario"] = _call(client, counter, "PUT", "/v1/admin/scenarios/books", {"threshold": 610})

    now = deps.clock.now()
    items = [
        {
            "pk": "METRIC#scenario#books",
            "sk": f"{(now - timedelta(days=i)).strftime('%Y-%m-%d')}#{s}",
            "closed": 250,
            "defaulted": 10,
        }
        for i in range(90)
        for s in range(4)
    ]
    deps.table.batch_write(items)
    with counter.measure() as calls:
        job.adjust_thresholds(deps, now)
    out["sweep_adjust_thresholds"] = len(calls)
    read = {"n": 0}

    def count_items(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and model.name == "Query" and parsed:
            read["n"] += int(parsed.get("Count", 0))

    deps.table.client.meta.events.register("after-call.dynamodb", count_items)
    with counter.measure() as calls:
        job.adjust_one(deps, {"scenario": "books", "day": now.strftime("%Y-%m-%d")})
    out["worker_per_scenario"] = len(calls)
    out["metric_items_read_90_days"] = read["n"]
    out["closed_in_window"] = 90 * 4 * 250

    lost = {"n": 0}
    accepted: list[int] = []
    barrier = threading.Barrier(10)

    def apply() -> None:
        barrier.wait()
        for _ in range(30):
            member = members.load(deps.table, member_id)
            limit = members.limit(member, deps.clock.now(), deps.settings.policy)
            if int(member.get("exposure", 0)) + 15_000 > limit:
                return
            u = UnitOfWork(deps.table, deps.clock.now())
            members.stage_exposure(u, member_id, 15_000, max_before=limit - 15_000)
            try:
                u.commit()
            except Retry:
                lost["n"] += 1
                continue
            accepted.append(15_000)
            return

    threads = [threading.Thread(target=apply) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["concurrent_accepted"] = len(accepted)
    out["concurrent_retries"] = lost["n"]
    out["exposure_after"] = int(members.load(deps.table, member_id)["exposure"])
    return out


if __name__ == "__main__":
    figures = measure()
    print(table([(k, v, GOALS.get(k, "")) for k, v in figures.items()]))
