"""Load: 500 rental creations (POST /v1/rentals, sandbox) by 500 members of ONE band and ONE scenario, 32 at a
time, over real HTTP against the local stack's own server (chalicelib.local.stack: Chalice's local server with
the crowd backlog), DynamoDB served by DynamoDB Local (moto when Java/npm are missing: labelled `backend`).

Standalone: `python bench/load.py` (LOAD_N, LOAD_CONCURRENCY, LOAD_CONFLICT_MODEL=0 to switch the model off,
LOAD_BACKEND=moto to skip DynamoDB Local).

DynamoDB Local 3.3.0 does NOT raise TransactionConflict: it runs every TransactWriteItems under a table write
lock (MultiTableLock WRITE in TransactWriteItemsFunction), so concurrent transactions are serialised, never
cancelled; moto does not model conflicts either. The bench therefore applies DynamoDB's item rule itself, on
the app's DynamoDB client (ConflictModel): a TransactWriteItems touching an item that another TransactWriteItems
has in flight is cancelled with TransactionCanceledException and a TransactionConflict reason at that item's
index (the answer DynamoDB gives), and a single write to such an item gets TransactionConflictException. The
app sees the real error shape and takes its own retry path (uow Retry -> the route tries again). "In flight" is
the client's round trip, longer than DynamoDB's own window: modelled conflicts on shared items are an upper
bound; an item nobody else writes can never conflict however long the window.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N = int(os.environ.get("LOAD_N", "500"))
CONCURRENCY = int(os.environ.get("LOAD_CONCURRENCY", "32"))
MODEL = os.environ.get("LOAD_CONFLICT_MODEL", "1") != "0"
BODY = {"scenario": "books", "item_id": "b1", "item_value": 50_000, "daily_rent": 500, "days": 7}
SCORE = 720  # every member in one band

GOALS = {
    "creations_per_second": "",
    "p99_over_p50": "<= 3",
    "shared_item_conflicts_per_1000": "0",
    "conflicts_per_1000": "",
    "app_retries_per_1000": "",
    "dashboard_orders": "= http_201 (counters exact)",
    "http_409": "0",
    "http_5xx": "0",
}


class ConflictModel:
    """DynamoDB's item rule for concurrent writes, applied on one boto3 client; counts what it cancels."""

    def __init__(self, client: Any, enabled: bool) -> None:
        self.enabled = enabled
        self.lock = threading.Lock()
        self.inflight: dict[tuple[str, str], dict[int, bool]] = {}  # key -> {owner: is a transaction}
        self.cancelled = 0  # TransactWriteItems cancelled by the model
        self.single_conflicts = 0
        self.shared = 0  # cancelled writes with a shared counter item (METRIC#...) among the held items
        self.real_conflicts = 0  # TransactionConflict reasons the backend itself sent
        self.items: Counter[str] = Counter()
        ev = client.meta.events
        for op in ("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"):
            ev.register(f"before-parameter-build.dynamodb.{op}", self._keys)
            ev.register(f"before-call.dynamodb.{op}", self._before)
            ev.register(f"after-call.dynamodb.{op}", self._after)
            ev.register(f"after-call-error.dynamodb.{op}", self._release)

    @staticmethod
    def _keys(params: dict, context: dict, model: Any, **_: Any) -> None:
        def k(d: dict) -> tuple[str, str]:
            return (d["pk"]["S"], d.get("sk", {}).get("S", ""))

        if model.name == "TransactWriteItems":
            keys = [k(body.get("Item") or body["Key"]) for op in params["TransactItems"] for body in op.values()]
        else:
            keys = [k(params.get("Item") or params["Key"])]
        context["load_keys"] = keys
        context["load_tx"] = model.name == "TransactWriteItems"

    def _before(self, context: dict, model: Any, **_: Any) -> Any:
        keys, tx = context.get("load_keys", []), context.get("load_tx", False)
        owner = id(context)
        with self.lock:  # an item another TransactWriteItems has in flight: DynamoDB refuses this write
            held = [
                i
                for i, key in enumerate(keys)
                if any(is_tx for o, is_tx in self.inflight.get(key, {}).items() if o != owner)
            ]
            if self.enabled and held:
                for i in held:
                    self.items[_label(keys[i])] += 1
                self.shared += any(keys[i][0].startswith("METRIC#") for i in held)
                if tx:
                    self.cancelled += 1
                    return _cancelled(len(keys), set(held))
                self.single_conflicts += 1
                return _fake(
                    400,
                    {
                        "Error": {
                            "Code": "TransactionConflictException",
                            "Message": "Transaction is ongoing for the item",
                        }
                    },
                )
            for key in keys:
                self.inflight.setdefault(key, {})[owner] = tx
        context["load_owner"] = owner
        return None

    def _after(self, context: dict, parsed: dict | None = None, **kw: Any) -> None:
        reasons = (parsed or {}).get("CancellationReasons") or []
        if context.get("load_owner") and any(r.get("Code") == "TransactionConflict" for r in reasons):
            with self.lock:
                self.real_conflicts += 1
        self._release(context)

    def _release(self, context: dict, **_: Any) -> None:
        owner = context.pop("load_owner", None)
        if owner is None:
            return
        with self.lock:
            for key in context.get("load_keys", []):
                holders = self.inflight.get(key, {})
                holders.pop(owner, None)
                if not holders:
                    self.inflight.pop(key, None)


def _label(key: tuple[str, str]) -> str:
    """An item's kind: a shared counter item named in full, a member's or object's own items by prefix."""
    pk, sk = key
    if pk.startswith("METRIC#"):
        return f"{pk} {sk}"
    return pk.split("#")[0] + "#*"


def _fake(status: int, parsed: dict) -> tuple[Any, dict]:
    from botocore.awsrequest import AWSResponse

    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status})
    return AWSResponse("http://conflict-model", status, {}, None), parsed


def _cancelled(n: int, held: set[int]) -> tuple[Any, dict]:
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        if i in held
        else {"Code": "None"}
        for i in range(n)
    ]
    codes = ", ".join(r["Code"] for r in reasons)
    return _fake(
        400,
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            },
            "CancellationReasons": reasons,
        },
    )


class RetryCounter:
    """The app's own retries: a unit of work whose commit raised Retry (the route then tries again)."""

    def __init__(self) -> None:
        from chalicelib.store import uow

        self.count = 0
        self.lock = threading.Lock()
        original = uow.UnitOfWork.commit

        def commit(this: Any) -> None:
            try:
                original(this)
            except uow.Retry:
                with self.lock:
                    self.count += 1
                raise

        uow.UnitOfWork.commit = commit  # type: ignore[method-assign]
        self.close = lambda: setattr(uow.UnitOfWork, "commit", original)  # the next bench counts nothing


def _http(
    base: str, method: str, path: str, body: Any, token: str | None = None, key: str | None = None
) -> tuple[int, Any]:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if key:
        req.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _serve(deps: Any) -> tuple[Any, str]:
    """The local stack's HTTP server (as `make run` builds it) in a thread on a free port."""
    from chalice.cli.factory import CLIFactory

    from bench.common import PROJECT_DIR
    from chalicelib.local import gateway
    from chalicelib.local.stack import _crowd_server

    gateway.install()
    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name="local")
    server = _crowd_server(config.chalice_app, config, "127.0.0.1", 0)
    port = server.server.server_address[1]
    threading.Thread(target=server.serve_forever, name="load-http", daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def measure() -> dict[str, Any]:
    from bench.common import start_dynamodb_local

    with open(os.devnull, "w") as sink, redirect_stdout(sink), redirect_stderr(sink):
        ddb = start_dynamodb_local(skip=os.environ.get("LOAD_BACKEND") == "moto")
        if ddb:
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb[1]
        try:
            return _measure("dynamodb-local" if ddb else "moto (DynamoDB Local unavailable)")
        finally:
            os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
            if ddb:
                ddb[0].terminate()
                ddb[0].wait(timeout=10)


def _member(base: str, i: int) -> str:
    status, body = _http(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": f"load{i:04d}:{SCORE}"})
    assert status < 300, (status, body)
    token = body["token"]
    status, body = _http(base, "POST", "/v1/credit/authorizations", {}, token)
    assert status < 300, (status, body)
    return str(token)


def _counted(deps: Any, base: str) -> int:
    """Orders of scenario `books` on the dashboard (GET /v1/admin/metrics), once the deltas are folded (what the
    stream does when deployed; a version with counters in the transaction has nothing to fold)."""
    from chalicelib.jobs.runner import drain
    from chalicelib.jobs.tables import SWEEPS

    if "fold_metrics" in SWEEPS:
        SWEEPS["fold_metrics"].fn(deps, deps.clock.now())
        drain(deps, "metric-folds")
    req = urllib.request.Request(
        base + "/v1/admin/metrics", headers={"Authorization": f"Bearer {deps.settings.admin_key}"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        rows = json.loads(resp.read())["by_scenario"]
    return sum(int(r.get("orders", 0)) for r in rows if r["scenario"] == BODY["scenario"])


def _measure(backend: str) -> dict[str, Any]:
    from bench.common import _fresh_deps

    deps = _fresh_deps("load")
    model = ConflictModel(deps.table.client, False)  # sign-ups are set-up, not measured
    retries = RetryCounter()
    server, base = _serve(deps)
    try:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            tokens = list(pool.map(lambda i: _member(base, i), range(N)))
        model.items.clear()
        model.enabled = MODEL
        before = (model.cancelled, model.single_conflicts, model.real_conflicts, retries.count, model.shared)

        def create(i: int) -> tuple[int, float]:
            t0 = time.perf_counter()
            status, _ = _http(base, "POST", "/v1/rentals", BODY, tokens[i], key=f"load-{i}")
            return status, time.perf_counter() - t0

        t0 = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = list(pool.map(create, range(N)))
        elapsed = time.perf_counter() - t0
        counted = _counted(deps, base)
    finally:
        server.server.shutdown()
        retries.close()
    cancelled, singles, real, app_retries = (
        model.cancelled - before[0],
        model.single_conflicts - before[1],
        model.real_conflicts - before[2],
        retries.count - before[3],
    )
    latencies = sorted(t * 1000 for _, t in results)
    statuses = Counter(s for s, _ in results)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * len(latencies))) - 1)]
    shared = model.shared - before[4]
    per_k = 1000 / N
    return {
        "backend": backend,
        "conflict_model": "on" if MODEL else "off",
        "creations": N,
        "concurrency": CONCURRENCY,
        "creations_per_second": round(N / elapsed, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "p99_over_p50": round(p99 / p50, 2),
        "conflicts_per_1000": round((cancelled + singles + real) * per_k, 1),
        "backend_conflicts_per_1000": round(real * per_k, 1),
        "shared_item_conflicts_per_1000": round(shared * per_k, 1),
        "app_retries_per_1000": round(app_retries * per_k, 1),
        "conflict_items": dict(model.items.most_common(8)),
        "dashboard_orders": counted,
        "http_201": statuses.get(201, 0),
        "http_409": statuses.get(409, 0),
        "http_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "http_other": sum(n for s, n in statuses.items() if s not in (201, 409) and s < 500),
    }


if __name__ == "__main__":
    figures = measure()
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        print(
            f"  {name.ljust(width)}  {json.dumps(value) if isinstance(value, dict) else value!s:>12}  "
            f"{GOALS.get(name, '')}"
        )
