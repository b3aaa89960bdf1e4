"""A container's AWS clients come from one session, each made on its first use and once, however many
threads use it first at the same moment: a cold start pays only for the clients its request uses."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib import bootstrap
from chalicelib.local.stack import FAKE_CREDENTIALS
from chalicelib.store.queues import Queues


@pytest.fixture
def made(monkeypatch):
    """The services whose client was made, in order, and the sessions made; a client takes 50 ms to make,
    so threads arriving together would each make one without the locks."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    record: dict[str, list] = {"clients": [], "sessions": []}
    real_session, real_client = bootstrap._session, bootstrap._client

    def session():
        record["sessions"].append(real_session())
        return record["sessions"][-1]

    def client(service, settings, session=None):
        time.sleep(0.05)
        record["clients"].append(service)
        return real_client(service, settings, session)

    monkeypatch.setattr(bootstrap, "_session", session)
    monkeypatch.setattr(bootstrap, "_client", client)
    bootstrap.reset()
    yield record
    bootstrap.reset()


def test_a_cold_start_makes_only_the_table_client_and_the_others_on_first_use(made):
    deps = bootstrap.bootstrap()
    assert made["clients"] == ["dynamodb"] and deps.clients.made() == ["dynamodb"]
    sqs, events = deps.queues.client, deps.events
    assert deps.queues.client is sqs and deps.events is events
    assert sqs.meta.service_model.service_name == "sqs" and events.meta.service_model.service_name == "events"
    assert made["clients"] == ["dynamodb", "sqs", "events"] and len(made["sessions"]) == 1


@pytest.mark.parametrize("service", ["sqs", "events"])
def test_threads_using_a_client_first_at_once_share_one(made, service):
    deps = bootstrap.bootstrap()
    start, seen = threading.Barrier(8), []

    def first_use():
        start.wait()
        seen.append(deps.queues.client if service == "sqs" else deps.events)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made["clients"].count(service) == 1 and len({id(c) for c in seen}) == 1 and len(seen) == 8


def test_a_client_given_by_the_caller_is_used_and_none_is_made(made):
    given = object()
    deps = bootstrap.bootstrap(events=given)
    assert deps.events is given and "events" not in made["clients"]
    with pytest.raises(TypeError):
        Queues(None, "p-")
