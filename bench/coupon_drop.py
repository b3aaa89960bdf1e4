"""Credit-day drop to 10,000 members on the embedded endpoint: DynamoDB calls and wall time.

Run standalone: /work/main/.venv/bin/python bench/coupon_drop.py  (also part of `make bench`).
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "10000"))
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
GOALS = {"write_calls_per_1000_coupons": "<= 45", "coupons_issued": f"= {MEMBERS}",
         "coupons_issued_by_rerun": "= 0"}


def _seed(deps, now) -> None:
    """10,000 live silver and gold members, written directly (not part of the measured drop)."""
    from chalicelib.clock import iso
    from chalicelib.store.schema import shard_of

    expires = iso(now + timedelta(days=20))
    items = []
    for i in range(MEMBERS):
        mid = f"m_bench{i:06d}"
        tier = "gold" if i % 2 else "silver"
        items.append({"pk": f"MEMBER#{mid}", "sk": "MEMBER", "type": "member", "member_id": mid,
                      "provider": "sandbox", "provider_user_id": f"bench{i}", "band": "750-799" if i % 2 else "700-749",
                      "tier": tier, "authorization_status": "granted", "authorization_expires_at": expires,
                      "group_pk": f"tier#{tier}#{shard_of(mid)}", "group_sk": mid})
    deps.table.batch_write(items)


def _drop(deps, now, force: bool = False) -> int:
    from chalicelib.jobs.runner import drain
    from chalicelib.services.marketing import coupon_drops

    coupon_drops.drop_credit_day(deps, now, force=force)
    moved = 0
    while True:
        done, failed = drain(deps, coupon_drops.QUEUE, max_rounds=1000)
        if failed:
            raise SystemExit(f"{failed} coupon batches failed")
        moved += done
        if not done:
            return moved


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


def measure() -> dict[str, float | int]:
    from bench.common import start_stack

    cancelled = _skip_moto_rollback_snapshots()
    deps, counter, _client = start_stack()
    real = deps.clock.now()
    now = real.replace(day=deps.settings.policy.credit_day, hour=1)  # the credit day of this month
    month = now.strftime("%Y-%m")
    _seed(deps, now)

    with counter.measure() as calls:
        started = time.perf_counter()
        messages = _drop(deps, now)
        wall = time.perf_counter() - started
    ops = Counter(calls)
    writes = sum(n for op, n in ops.items() if op in WRITES)
    issued = _issued(deps, month)

    with counter.measure() as again:  # the job run again and every batch delivered again
        started = time.perf_counter()
        _drop(deps, now, force=True)
        rerun_wall = time.perf_counter() - started
    rerun_ops = Counter(again)
    if cancelled:
        raise SystemExit(f"{len(cancelled)} transaction(s) cancelled: figures not valid without moto's rollback")
    return {
        "members": MEMBERS, "coupons_issued": issued, "queue_messages": messages,
        "wall_seconds": round(wall, 2), "dynamodb_calls": len(calls), "write_calls": writes,
        "write_calls_per_1000_coupons": round(writes * 1000 / max(issued, 1), 1),
        "transact_write_calls": ops["TransactWriteItems"], "batch_get_calls": ops["BatchGetItem"],
        "query_calls": ops["Query"], "other_calls": len(calls) - writes - ops["BatchGetItem"] - ops["Query"],
        "coupons_issued_by_rerun": _issued(deps, month) - issued,
        "rerun_wall_seconds": round(rerun_wall, 2), "rerun_dynamodb_calls": len(again),
        "rerun_write_calls": sum(n for op, n in rerun_ops.items() if op in WRITES),
    }


def main() -> None:
    figures = measure()
    width = max(len(k) for k in figures)
    print(f"credit-day drop to {MEMBERS:,} members (embedded endpoint)")
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value!s:>10}  {GOALS.get(key, '')}")


if __name__ == "__main__":
    main()
