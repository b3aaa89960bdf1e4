"""Credit-day drop: DynamoDB calls and wall time at 10,000 members, on DynamoDB Local when Java and npm are
there (else the embedded moto endpoint), with the CPU the emulator and the bench process used (cores = CPU
seconds / wall seconds): near 1 core for DynamoDB Local, which runs every transaction under a table lock,
means the emulator, not the design, set the time. Live runs by more workers (BENCH_DROP_WORKERS=1,4,8)
only queue on that lock (at 10,000 members: 13.5 s by 1, 104 s by 4, 265 s by 8), so `make bench` runs
one worker live and replays the traced calls for the worker figures.

The drop sends one page message per tier and shard; each page hands on the next, so workers read the
member index in parallel. Its structure (pages, chains, calls per page, the critical path, items and
partition keys two pages share) is counted from a trace of the first run of each size, which
bench/drop_structure.py replays on 1, 4, 8, 16 and 32 workers with one modelled round trip per call
(BENCH_DROP_RTT_MS, default 8), and again with each TransactWriteItems slower (BENCH_DROP_TXN_RTT_MS,
default 20): the speed-up the design allows where the service is not the queue, and the hottest
partition's write units per second at that pace. docs/SCALING.md says what the model
assumes; it is a model, never asserted in tests.

Options (environment): BENCH_DROP_SIZES=10000,100000 (the 100,000 run took ~30 min on a shared
2-core machine, nearly all of it DynamoDB Local), BENCH_DROP_WORKERS=1,4,8 (live runs; default 1),
BENCH_DROP_REPLAY_WORKERS=1,4,8,16,32, BENCH_DROP_RTT_MS=8, BENCH_DROP_TXN_RTT_MS=20,
BENCH_DROP_LIVE_MODEL=1 (every live run again with the round trip slept after each call:
bench.common.RoundTripModel; `only`: just those), BENCH_DROP_RERUN=0 (skip the rerun),
BENCH_DROP_BACKEND=moto.
Run standalone: .venv/bin/python bench/coupon_drop.py (also part of `make bench`).
"""

from __future__ import annotations

import json
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
WORKERS = [int(n) for n in os.environ.get("BENCH_DROP_WORKERS", "1").split(",")]  # live: 4 and 8 queue on the emulator
RTT_MS = float(os.environ.get("BENCH_DROP_RTT_MS", "8"))  # the modelled round trip (replay; live runs if asked)
TXN_RTT_MS = float(os.environ.get("BENCH_DROP_TXN_RTT_MS", "20"))  # a 26-item transaction, in the second replay
RTTS = {"1": [0.0, RTT_MS], "only": [RTT_MS]}.get(os.environ.get("BENCH_DROP_LIVE_MODEL", ""), [0.0])
REPLAY_WORKERS = [int(n) for n in os.environ.get("BENCH_DROP_REPLAY_WORKERS", "1,4,8,16,32").split(",")]
RERUN = os.environ.get("BENCH_DROP_RERUN", "1") != "0"
RUN_GOALS = {"write_calls_per_1000_coupons": "<= 45", "coupons_issued": "= members", "coupons_issued_by_rerun": "= 0"}


def _model(rtt_ms: float) -> str:
    """Key suffix of the runs with a modelled round trip."""
    return f"_rtt{rtt_ms:g}ms" if rtt_ms else ""


SMALL, LARGE = min(SIZES), max(SIZES)
GOALS = {f"{k}_{n}m_{w}w{_model(r)}": g for k, g in RUN_GOALS.items() for n in SIZES for w in WORKERS for r in RTTS}
GOALS.update({f"time_ratio_{LARGE}m_over_{SMALL}m_{w}w{_model(r)}": "<= 10.5 (linear)" for w in WORKERS for r in RTTS})
GOALS.update({f"speedup_{w}w_over_1w_{n}m{_model(r)}": f"near {w}" for w in WORKERS for n in SIZES for r in RTTS})
GOALS.update(
    {
        f"replay_{m}speedup_{w}w_over_1w_{n}m": f"near {w}"
        for w in WORKERS  # the worker counts; 16 and 32 show where the critical path stops it
        for n in SIZES
        for m in ("", "slow_txn_")
    }
)
GOALS.update({f"items_written_by_two_pages_{n}m": "= 0" for n in SIZES})
GOALS.update(
    {
        f"replay_{m}hottest_wcu_per_s_{n}m_{w}w": "<= 1000 (a partition)"
        for w in REPLAY_WORKERS
        for n in SIZES
        for m in ("", "slow_txn_")
    }
)


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


def _drop(deps, now, force: bool = False, workers: int = 1, trace=None) -> int:
    """The drop, then `workers` threads taking page messages until the queue is empty and none is busy
    (each page inside `trace.page`, so the trace knows which page made which call)."""
    from contextlib import nullcontext

    from chalicelib.jobs.runner import handle_record
    from chalicelib.services.marketing import coupon_drops

    with trace.drop() if trace else nullcontext():
        coupon_drops.drop_credit_day(deps, now, force=force)
    lock, state = threading.Lock(), {"busy": 0, "done": 0, "failed": 0}

    def work() -> None:
        while True:
            with lock:
                state["busy"] += 1
            messages = deps.queues.receive(coupon_drops.QUEUE, max_messages=1, visibility=600)
            for m in messages:
                body = json.loads(m["Body"])
                try:
                    with trace.page(body) if trace and "shard" in body else nullcontext():
                        handle_record(coupon_drops.QUEUE, body, deps)
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
    from chalicelib.services.marketing import coupon_drops
    from chalicelib.store.schema import shard_count

    entities = [coupon_drops.issued_entity("credit_day", month, s) for s in range(shard_count())]
    entries = [e for entity in entities for e in deps.table.query("pk = :p", {":p": f"AUDIT#{entity}"})]
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


def measure_one(members: int = MEMBERS, workers: int = 1, rtt_ms: float = 0.0, emulator_pid: int | None = None):
    """One drop to `members` by `workers` workers (a fresh table), with `rtt_ms` of modelled round trip per
    AWS call (0: as the emulator answers). Returns (figures, trace of the pages). Without the model the job
    is also run again with every page delivered again (the rerun figures)."""
    from bench.common import RoundTripModel, cpu_seconds, start_stack
    from bench.drop_structure import PageTrace
    from chalicelib.services.marketing import coupon_drops

    cancelled = _skip_moto_rollback_snapshots()
    deps, counter, _client = start_stack()
    real = deps.clock.now()
    now = real.replace(day=deps.settings.policy.credit_day, hour=1)  # the credit day of this month
    month = now.strftime("%Y-%m")
    _seed(deps, now, members)
    trace = PageTrace(deps.queues.names[coupon_drops.QUEUE])
    trace.attach(deps.table.client, deps.queues.client)
    RoundTripModel(rtt_ms / 1000).attach(deps.table.client, deps.queues.client)

    load = os.getloadavg()[0]
    cpu, emulator_cpu = cpu_seconds(), cpu_seconds(emulator_pid) if emulator_pid else 0.0
    with counter.measure() as calls:
        started = time.perf_counter()
        messages = _drop(deps, now, workers=workers, trace=trace)
        wall = time.perf_counter() - started
    cpu, emulator_cpu = cpu_seconds() - cpu, (cpu_seconds(emulator_pid) - emulator_cpu) if emulator_pid else 0.0
    ops = Counter(calls)
    writes = sum(n for op, n in ops.items() if op in WRITES)
    issued = _issued(deps, month)
    figures: dict[str, float | int] = {
        "members": members,
        "workers": workers,
        "rtt_ms": rtt_ms,
        "coupons_issued": issued,
        "queue_messages": messages,
        "wall_seconds": round(wall, 2),
        "bench_process_cpu_cores": round(cpu / wall, 2),
        "emulator_cpu_cores": round(emulator_cpu / wall, 2) if emulator_pid else -1,
        "machine_load_1min_before": round(load, 2),
        "dynamodb_calls": len(calls),
        "write_calls": writes,
        "write_calls_per_1000_coupons": round(writes * 1000 / max(issued, 1), 1),
        "transact_write_calls": ops["TransactWriteItems"],
        "batch_get_calls": ops["BatchGetItem"],
        "query_calls": ops["Query"],
        "other_calls": len(calls) - writes - ops["BatchGetItem"] - ops["Query"],
    }
    if not rtt_ms and RERUN:
        with counter.measure() as again:  # the job run again and every page delivered again
            started = time.perf_counter()
            _drop(deps, now, force=True, workers=workers)
            rerun_wall = time.perf_counter() - started
        figures.update(
            coupons_issued_by_rerun=_issued(deps, month) - issued,
            rerun_wall_seconds=round(rerun_wall, 2),
            rerun_dynamodb_calls=len(again),
            rerun_write_calls=sum(n for op, n in Counter(again).items() if op in WRITES),
        )
    deps.table.client.delete_table(TableName=deps.table.name)  # the emulator's memory, for the next run
    if cancelled:
        raise SystemExit(f"{len(cancelled)} transaction(s) cancelled: figures not valid without moto's rollback")
    return figures, trace


def measure_all() -> tuple[list[dict], dict[int, dict]]:
    """Every run (size x model x workers) on DynamoDB Local when available, and per size the structure and
    replay figures counted from the one-worker run's trace."""
    from bench.common import start_dynamodb_local
    from bench.drop_structure import replay, structure

    ddb = start_dynamodb_local(skip=os.environ.get("BENCH_DROP_BACKEND") == "moto")
    if ddb:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb[1]
    runs, shapes = [], {}
    try:
        for size in SIZES:
            for rtt in RTTS:
                for workers in WORKERS:
                    figures, trace = measure_one(size, workers, rtt, ddb[0].pid if ddb else None)
                    figures["backend"] = "dynamodb-local" if ddb else "moto"
                    print(json.dumps(figures), file=sys.stderr, flush=True)  # each run as it ends: they are long
                    runs.append(figures)
                    if size not in shapes:
                        shapes[size] = shape = structure(trace)
                        for w in REPLAY_WORKERS:
                            r = replay(trace, w, RTT_MS / 1000)
                            shape[f"replay_seconds_{w}w"] = r["seconds"]
                            shape[f"replay_hottest_wcu_per_s_{w}w"] = r["hottest_wcu_per_s"]
                            shape[f"replay_hottest_partition_{w}w"] = r["hottest_partition"]
                            slow = replay(trace, w, RTT_MS / 1000, TXN_RTT_MS / 1000)  # transactions slower
                            shape[f"replay_slow_txn_seconds_{w}w"] = slow["seconds"]
                            shape[f"replay_slow_txn_hottest_wcu_per_s_{w}w"] = slow["hottest_wcu_per_s"]
                        print(json.dumps({"members": size, **shape}), file=sys.stderr, flush=True)
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        if ddb:
            ddb[0].terminate()
            ddb[0].wait(timeout=10)
    return runs, shapes


def measure() -> dict[str, float | int | str | dict]:
    """Every run's figures (suffixed _<members>m_<workers>w[_rtt<ms>ms]), with the scaling ratios the issue
    asks for: time at the largest size over the smallest (goal: linear, 100,000 <= 10.5 x 10,000) and the
    speed-up of n workers over one, measured (with and without the model) and replayed."""
    runs, shapes = measure_all()
    out: dict[str, float | int | str | dict] = {}
    for r in runs:
        tag = f"_{r['members']}m_{r['workers']}w{_model(float(r['rtt_ms']))}"
        out.update({f"{k}{tag}": v for k, v in r.items() if k not in ("members", "workers", "rtt_ms")})
    wall = {(int(r["members"]), int(r["workers"]), float(r["rtt_ms"])): float(r["wall_seconds"]) for r in runs}
    for rtt in RTTS:
        m = _model(rtt)
        for w in WORKERS:
            if LARGE != SMALL:
                out[f"time_ratio_{LARGE}m_over_{SMALL}m_{w}w{m}"] = round(wall[LARGE, w, rtt] / wall[SMALL, w, rtt], 2)
            for n in SIZES:
                out[f"speedup_{w}w_over_1w_{n}m{m}"] = (
                    round(wall[n, 1, rtt] / wall[n, w, rtt], 2) if 1 in WORKERS else 0
                )
    for n, shape in shapes.items():
        for key, value in shape.items():
            if key.startswith("replay_"):  # replay_seconds_4w -> replay_seconds_10000m_4w
                stem, w = key.rsplit("_", 1)
                out[f"{stem}_{n}m_{w}"] = value
            else:
                out[f"{key}_{n}m"] = value
        for w in REPLAY_WORKERS:
            for model in ("", "slow_txn_"):
                if 1 in REPLAY_WORKERS:
                    one, many = shape[f"replay_{model}seconds_1w"], shape[f"replay_{model}seconds_{w}w"]
                    out[f"replay_{model}speedup_{w}w_over_1w_{n}m"] = round(one / many, 2)
    return out


def main() -> None:
    figures = measure()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key.ljust(width)}  {value!s:>12}  {GOALS.get(key, '')}")


if __name__ == "__main__":
    main()
