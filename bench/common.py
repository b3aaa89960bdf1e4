"""Shared bench plumbing: an embedded AWS endpoint, the app's dependencies, a DynamoDB call counter."""
from __future__ import annotations

import os
import sys
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


def start_stack() -> tuple[Any, Any, Any]:
    """(deps, counter, chalice test client) on a fresh embedded endpoint and fresh resources."""
    from chalicelib.local.endpoint import EmbeddedAws
    from chalicelib.local.stack import FAKE_CREDENTIALS, stage_environment

    endpoint = EmbeddedAws()
    os.environ["AWS_ENDPOINT_URL"] = endpoint.start()
    for key, value in {**FAKE_CREDENTIALS, **stage_environment("local")}.items():
        os.environ.setdefault(key, value)
    suffix = uuid.uuid4().hex[:6]
    os.environ["CREDITFIRST_TABLE"] = f"bench-{suffix}"
    os.environ["CREDITFIRST_QUEUE_PREFIX"] = f"bench-{suffix}-"
    from contextlib import redirect_stdout

    from chalice.test import Client

    from chalicelib.log import logger

    with redirect_stdout(_SINK):
        logger.debug("bench: the log handler binds to the sink")

    from chalicelib import bootstrap
    from chalicelib.local import gateway
    from chalicelib.local.resources import ensure_all
    from chalicelib.services.scenarios import seed_defaults

    bootstrap.reset()
    deps = bootstrap.bootstrap()
    ensure_all(deps)
    seed_defaults(deps.table, deps.settings.policy, deps.clock.now())
    deps.clock.now()  # warm the sandbox clock cache: a request's own round trips are what we count
    gateway.install()
    from app import app

    client = Client(app, stage_name="local", project_dir=str(PROJECT_DIR))
    return deps, CallCounter(deps.table.client), client


def table(rows: list[tuple[str, Any, str]]) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {name.ljust(width)}  {value!s:>10}  {goal}" for name, value, goal in rows)
