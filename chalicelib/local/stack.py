"""`make run`: the whole stack in one process, behaving like the deployed one.

Embedded AWS endpoint (moto server on loopback) unless AWS_ENDPOINT_URL[_DYNAMODB|_SQS] are set;
tables/queues/bus created if missing; default scenarios seeded; a scheduler running every sweep;
a poller per queue calling the same worker functions as the deployed Lambdas; the Chalice app served
on 127.0.0.1:$PORT by Chalice's own local server.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


def stage_environment(stage: str = "local") -> dict[str, str]:
    """The stage's environment variables from .chalice/config.json (the process environment wins)."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    values = dict(config.get("environment_variables", {}))
    values.update(config["stages"][stage].get("environment_variables", {}))
    values.setdefault("CREDITFIRST_TABLE", "creditfirst")
    return values


def apply_environment(stage: str = "local") -> None:
    for key, value in {**FAKE_CREDENTIALS, **stage_environment(stage)}.items():
        os.environ.setdefault(key, value)


def needs_embedded_endpoint() -> bool:
    if os.environ.get("AWS_ENDPOINT_URL"):
        return False
    return not (os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") and os.environ.get("AWS_ENDPOINT_URL_SQS"))


def start_moto() -> Any:
    from .endpoint import EmbeddedAws

    server = EmbeddedAws()
    os.environ["AWS_ENDPOINT_URL"] = server.start()
    return server


class Background:
    """The scheduler and the queue pollers, stopped together."""

    def __init__(self, deps: Any) -> None:
        self.deps = deps
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        from ..jobs.tables import WORKERS

        self.threads.append(threading.Thread(target=self._schedule, name="scheduler", daemon=True))
        self.threads.append(threading.Thread(target=self._follow_stream, name="stream", daemon=True))
        for queue in WORKERS:
            self.threads.append(threading.Thread(target=self._poll, args=(queue,), name=f"poll:{queue}", daemon=True))
        for t in self.threads:
            t.start()

    def _schedule(self) -> None:
        from ..jobs.runner import ACTIVITY
        from ..jobs.tables import SWEEPS
        from ..log import logger

        last: dict[str, float] = {}
        while not self.stop.wait(1.0):
            for name, spec in SWEEPS.items():
                if time.monotonic() - last.get(name, 0) >= spec.every_seconds:
                    last[name] = time.monotonic()
                    try:
                        with ACTIVITY.busy():
                            spec.fn(self.deps, self.deps.clock.now())
                    except Exception:
                        logger.exception("sweep failed", extra={"sweep": name})

    def _poll(self, queue: str) -> None:
        from ..jobs.runner import ACTIVITY

        while not self.stop.is_set():
            with ACTIVITY.busy():
                ok = self._poll_once(queue)
            if not ok and self.stop.wait(1.0):
                return

    def _poll_once(self, queue: str) -> bool:
        from ..jobs.runner import handle_record
        from ..log import logger

        try:
            messages = self.deps.queues.receive(queue, max_messages=10, wait_seconds=1)
        except Exception:
            return False
        for msg in messages:
            try:
                handle_record(queue, json.loads(msg["Body"]), self.deps)
                self.deps.queues.delete(queue, msg["ReceiptHandle"])
            except Exception:  # left invisible; retried after the visibility timeout, then dead-lettered
                logger.exception("record failed", extra={"queue": queue})
        return True

    def _follow_stream(self) -> None:
        """Events within seconds: the table's stream, read as the deployed mapping reads it."""
        from ..jobs.runner import ACTIVITY
        from ..log import logger
        from .streams import StreamReader

        if os.environ.get("CREDITFIRST_LOCAL_EVENTS") == "outbox":  # the bench's "before": the sweep alone
            return
        try:
            reader = StreamReader(self.deps, streams_client(self.deps.settings.region))
        except Exception:
            logger.exception("no stream reader; the outbox sweep carries events")
            return
        if not reader.available:
            logger.warning("the table has no stream; the outbox sweep carries events")
            return
        last_discovery = 0.0
        while not self.stop.is_set():
            read = 0
            try:
                with ACTIVITY.busy():
                    if time.monotonic() - last_discovery >= 5:
                        reader.discover()
                        last_discovery = time.monotonic()
                    read = reader.poll_once()
            except Exception:
                logger.exception("stream read failed")
            if not read and self.stop.wait(0.1):
                return

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=3)


def streams_client(region: str) -> Any:
    """DynamoDB Streams on the same endpoint as DynamoDB (moto and DynamoDB Local serve both on one port)."""
    import boto3

    endpoint = (
        os.environ.get("AWS_ENDPOINT_URL_DYNAMODBSTREAMS")
        or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    return boto3.session.Session().client("dynamodbstreams", region_name=region, endpoint_url=endpoint)


def prepare(stage: str = "local") -> tuple[Any, Any]:
    """Environment, endpoint, resources, seeds. Returns (deps, moto_server_or_None)."""
    apply_environment(stage)
    moto = start_moto() if needs_embedded_endpoint() else None
    from .. import bootstrap
    from ..services.risk.scenarios import seed_defaults
    from .resources import ensure_all

    bootstrap.reset()
    deps = bootstrap.bootstrap()
    ensure_all(deps)
    seed_defaults(deps.table, deps.settings.policy, deps.clock.now())
    return deps, moto


LISTEN_BACKLOG = 512  # socketserver's default of 5 resets the 6th simultaneous connection


def _crowd_server(app_obj: Any, config: Any, host: str, port: int) -> Any:
    """chalice.local.create_local_server with a listen backlog for a crowd: merchants point load tools at
    the local stack, so it must take many simultaneous connections (each request runs in its own thread)."""
    from chalice import local

    class CrowdServer(local.ThreadedHTTPServer):
        request_queue_size = LISTEN_BACKLOG

    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app_obj.__class__)  # as create_local_server
    app_obj.__class__ = local.CustomLocalChalice
    return local.LocalDevServer(app_obj, config, host, port, server_cls=CrowdServer)


def serve(host: str = "127.0.0.1", port: int | None = None, demo: bool = False) -> None:
    from chalice.cli.factory import CLIFactory

    from . import gateway

    port = int(port if port is not None else os.environ.get("PORT", "8000"))
    deps, moto = prepare("local")
    if demo:
        from .demo import seed_demo

        seed_demo(deps)
    gateway.install()
    factory = CLIFactory(str(PROJECT_DIR))
    config = factory.create_config_obj(chalice_stage_name="local")
    app_obj = config.chalice_app
    server = _crowd_server(app_obj, config, host, port)
    background = Background(deps)
    background.start()
    print(f"creditfirst local stack on http://{host}:{port}  (stage local)", flush=True)
    print(f"  admin key: {deps.settings.admin_key}", flush=True)
    print(f"  AWS endpoint: {os.environ.get('AWS_ENDPOINT_URL') or 'from AWS_ENDPOINT_URL_*'}", flush=True)

    def shutdown(*_: Any) -> None:
        threading.Thread(target=server.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        server.serve_forever()
    finally:
        background.close()
        if moto:
            moto.stop()
        print("creditfirst local stack stopped", flush=True)
