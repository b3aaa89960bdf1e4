"""Fixtures: a fresh embedded AWS (in-process moto) per test, the app through chalice.test.Client."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _stage_env(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    from chalicelib.local.stack import FAKE_CREDENTIALS, stage_environment

    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in {**FAKE_CREDENTIALS, **stage_environment("local")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CREDITFIRST_STAGE", stage)
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("CREDITFIRST_TABLE", f"creditfirst-test-{suffix}")
    monkeypatch.setenv("CREDITFIRST_QUEUE_PREFIX", f"cf-{suffix}-")


@pytest.fixture(scope="session")
def endpoint():
    """One embedded AWS endpoint (moto server on loopback) for the whole run, unless one is given."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"]
        return
    from chalicelib.local.endpoint import EmbeddedAws

    server = EmbeddedAws()
    url = server.start()
    yield url
    server.stop()


def fresh_deps(monkeypatch: pytest.MonkeyPatch, endpoint: str, clients: dict | None = None):
    """Deps wired to a fresh table, queues and bus on the endpoint, default scenarios seeded.
    Also used per hypothesis example (tests/properties), where a fixture cannot be; `clients`
    ({"dynamodb", "sqs", "events"} boto3 clients) are then reused across examples."""
    from chalicelib import bootstrap
    from chalicelib.config import get_settings
    from chalicelib.local.resources import ensure_all
    from chalicelib.services.risk.scenarios import seed_defaults
    from chalicelib.store.dynamo import Table
    from chalicelib.store.queues import Queues

    _stage_env(monkeypatch, "local")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    bootstrap.reset()
    if clients:
        settings = get_settings()
        deps = bootstrap.bootstrap(
            settings,
            table=Table(clients["dynamodb"], settings.table_name),
            queues=Queues(clients["sqs"], settings.queue_prefix),
            events=clients["events"],
        )
    else:
        deps = bootstrap.bootstrap()
    ensure_all(deps)
    seed_defaults(deps.table, deps.settings.policy, deps.clock.now())
    return deps


def release(deps) -> None:
    """Drop a test's table (with its stream) and queues, so neither the in-process moto server nor DynamoDB
    Local keeps every test's state for the whole run."""
    from botocore.exceptions import ClientError

    try:
        deps.table.client.delete_table(TableName=deps.settings.table_name)
    except ClientError:
        pass  # already gone
    sqs = deps.queues.client
    for name in deps.queues.names:
        for url in (deps.queues.url(name), deps.queues.dlq_url(name)):
            try:
                sqs.delete_queue(QueueUrl=url)
            except ClientError:
                pass


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, endpoint: str):
    """Deps wired to a fresh table, queues and bus on the endpoint, default scenarios seeded; dropped after."""
    from chalicelib import bootstrap

    deps = fresh_deps(monkeypatch, endpoint)
    yield deps
    bootstrap.reset()
    release(deps)


@pytest.fixture
def client(aws):
    """chalice.test.Client over the real app, with the gateway's unknown-route answer installed."""
    from chalice.test import Client

    from chalicelib.local import gateway

    gateway.install()
    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as c:
        yield c
