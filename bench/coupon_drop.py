"""Credit-day drop on the embedded endpoint: DynamoDB calls and wall time, at 10,000 members (and
100,000 with BENCH_DROP_SIZES=10000,100000), by 1, 4 and 8 parallel workers (BENCH_DROP_WORKERS).

The drop sends one page message per tier and shard; each page hands on the next, so workers read the
member index in parallel. Run standalone: .venv/bin/python bench/coupon_drop.py (also part of `make bench`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "10000"))
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
SIZES = [int(n) for n in os.environ.get("BENCH_DROP_SIZES", str(MEMBERS)).split(",")]
WORKERS = [int(n) for n in os.environ.get("BENCH_DROP_WORKERS", "1,4,8").split(",")]
RUN_GOALS = {"write_calls_per_1000_coupons": "<= 45", "coupons_issued": "= members", "coupons_issued_by_rerun": "= 0"}
GOALS = {f"{k}_{n}m_{w}w": g for k, g in RUN_GOALS.items() for n in SIZES for w in WORKERS}
GOALS.update({f"time_ratio_{max(SIZES)}m_over_{min(SIZES)}m_{w}w": "linear: <= 10.5 for 10x members" for w in WORKERS})
GOALS.update({f"speedup_{w}w_over_1w_{n}m": f"near {w}" for w in WORKERS for n in SIZES})


def _seed(deps, now, members: int) -> None:
    """Live silver and gold members, written directly (not part of the measured drop)."""
    from chalicelib.clock import iso
    from chalicelib.store.schema import shard_of

    expires = iso(now + timedelta(days=20))
    items = []
    for i in range(members):
        mid = f"m_bench{i:06d}"
        tier = "gold" if i % 2 else "silver"
        items.append(
            {
                "pk": f"MEMBER#{mid}",
                "sk": "MEMBER",
                "type": "member",
                "member_id": mid,
                "provider": "sandbox",
                "provider_user_id": f"bench{i}",
                "band": "750-799" if i % 2 else "700-749",
                "tier": tier,
                "authorization_status": "granted",
                "authorization_expires_at": expires,
                "group_pk": f"tier#{tier}#{shard_of(mid)}",
                "group_sk": mid,
            }
        )
    deps.table.batch_write(items)


def _drop(deps, now, force: bool = False, workers: int = 1) -> int:
    """The drop, then `workers` threads taking page messages until the queue is empty and none is busy."""
    import json

    from chalicelib.jobs.runner import handle_record
    from chalicelib.services.marketing import coupon_drops

    coupon_drops.drop_credit_day(deps, now, force=force)
    lock, state = threading.Lock(), {"busy": 0, "done": 0, "failed": 0}

    def work() -> None:
        while True:
            with lock:
                state["busy"] += 1
            messages = deps.queues.receive(coupon_drops.QUEUE, max_messages=1, visibility=600)
            for m in messages:
                try:
                    handle_record(coupon_drops.QUEUE, json.loads(m["Body"]), deps)
                    deps.queues.delete(coupon_drops.QUEUE, m["ReceiptHandle"])
                    with lock:
                        state["done"] += 1
                except Exception:
                    with lock:
                        state["failed"] += 1
            with lock:
                state["busy"] -= 1
                if not messages and state["busy"] == 0:
                    return
            if not messages:
                time.sleep(0.01)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["failed"]:
        raise SystemExit(f"{state['failed']} coupon pages failed")
    return state["done"]


def _issued(deps, month: str) -> int:
    entries = deps.table.query("pk = :p", {":p": f"AUDIT#drop#credit_day#{month}"})
    return sum(int(e["data"].get("count", 0)) for e in entries if e["action"] == "coupons_issued")


def _skip_moto_rollback_snapshots() -> list[int]:
    """moto deep-copies the whole table for every item of a TransactWriteItems (its rollback
    snapshot): O(items x table size) per call, hours and tens of GB at this scale, which measures
    the emulator, not us. No transaction is cancelled in this bench (every coupon is new, and the
    rerun skips existing ones after BatchGetItem), so the snapshot is never needed; if one is
    cancelled anyway the bench stops rather than report figures from a half-applied transaction."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table as MotoTable

    class _Copy:
        @staticmethod
        def deepcopy(obj, *args):
            return obj if isinstance(obj, MotoTable) else copy.deepcopy(obj, *args)

    cancelled: list[int] = []
    original = models.DynamoDBBackend.transact_write_items

    def transact(self, items):
        try:
            return original(self, items)
        except Exception:
            cancelled.append(1)
            raise

    models.copy = _Copy()
    models.DynamoDBBackend.transact_write_items = transact
    return cancelled


def measure_one(members: int = MEMBERS, workers: int = 1) -> dict[str, float | int]:
    from bench.common import start_stack

    cancelled = _skip_moto_rollback_snapshots()
    deps, counter, _client = start_stack()
    real = deps.clock.now()
    now = real.replace(day=deps.settings.policy.credit_day, hour=1)  # the credit day of this month
    month = now.strftime("%Y-%m")
    _seed(deps, now, members)

    with counter.measure() as calls:
        started = time.perf_counter()
        messages = _drop(deps, now, workers=workers)
        wall = time.perf_counter() - started
    ops = Counter(calls)
    writes = sum(n for op, n in ops.items() if op in WRITES)
    issued = _issued(deps, month)

    with counter.measure() as again:  # the job run again and every page delivered again
        started = time.perf_counter()
        _drop(deps, now, force=True, workers=workers)
        rerun_wall = time.perf_counter() - started
    rerun_ops = Counter(again)
    if cancelled:
        raise SystemExit(f"{len(cancelled)} transaction(s) cancelled: figures not valid without moto's rollback")
    return {
        "members": members,
        "workers": workers,
        "coupons_issued": issued,
        "queue_messages": messages,
        "wall_seconds": round(wall, 2),
        "dynamodb_calls": len(calls),
        "write_calls": writes,
        "write_calls_per_1000_coupons": round(writes * 1000 / max(issued, 1), 1),
        "transact_write_calls": ops["TransactWriteItems"],
        "batch_get_calls": ops["BatchGetItem"],
        "query_calls": ops["Query"],
        "other_calls": len(calls) - writes - ops["BatchGetItem"] - ops["Query"],
        "coupons_issued_by_rerun": _issued(deps, month) - issued,
        "rerun_wall_seconds": round(rerun_wall, 2),
        "rerun_dynamodb_calls": len(again),
        "rerun_write_calls": sum(n for op, n in rerun_ops.items() if op in WRITES),
    }


def measure_all() -> list[dict[str, float | int]]:
    return [measure_one(size, workers) for size in SIZES for workers in WORKERS]


def measure() -> dict[str, float | int]:
    """Every run's figures (suffixed _<members>m_<workers>w), with the scaling ratios the issue asks for:
    time at the largest size over the smallest (goal: linear, e.g. 100,000 <= 10.5 x 10,000) and the
    speed-up of n workers over one."""
    runs = measure_all()
    out: dict[str, float | int] = {}
    for r in runs:
        tag = f"_{r['members']}m_{r['workers']}w"
        out.update({f"{k}{tag}": v for k, v in r.items() if k not in ("members", "workers")})
    wall = {(int(r["members"]), int(r["workers"])): float(r["wall_seconds"]) for r in runs}
    small, large = min(SIZES), max(SIZES)
    for w in WORKERS:
        if large != small:
            out[f"time_ratio_{large}m_over_{small}m_{w}w"] = round(wall[large, w] / max(wall[small, w], 1e-9), 2)
        for n in SIZES:
            out[f"speedup_{w}w_over_1w_{n}m"] = round(wall[n, 1] / max(wall[n, w], 1e-9), 2) if 1 in WORKERS else 0
    return out


def main() -> None:
    for figures in measure_all():  # (ratios: `make bench`)
        width = max(len(k) for k in figures)
        print(
            f"credit-day drop to {figures['members']:,} members by {figures['workers']} worker(s) (embedded endpoint)"
        )
        for key, value in figures.items():
            print(f"  {key.ljust(width)}  {value!s:>10}  {RUN_GOALS.get(key, '')}")


if __name__ == "__main__":
    main()
