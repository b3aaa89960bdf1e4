"""Timers fan out: the number of due-index shards is configuration, a sweep hands each shard to its own
message, and shard readers (run in parallel when deployed) enqueue every due timer once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chalicelib.clock import iso
from chalicelib.config import get_settings
from chalicelib.jobs import runner
from chalicelib.jobs.registry import SHARD_QUEUE, enqueue_due
from chalicelib.store.schema import shard_count, shard_of


def _received(deps, queue: str) -> list[dict]:
    bodies = []
    while messages := deps.queues.receive(queue, max_messages=10, visibility=60):
        for m in messages:
            bodies.append(json.loads(m["Body"]))
            deps.queues.delete(queue, m["ReceiptHandle"])
    return bodies


@pytest.fixture
def sixty_four_shards(aws, monkeypatch):
    monkeypatch.setenv("CREDITFIRST_TIMER_SHARDS", "64")
    get_settings.cache_clear()
    yield aws
    get_settings.cache_clear()


def test_a_sweep_with_64_shards_finds_every_due_timer_once(sixty_four_shards):
    deps = sixty_four_shards
    now = deps.clock.now()
    due = {f"probe{i:04d}" for i in range(300)}
    later = {f"later{i:04d}" for i in range(40)}
    for pk in sorted(due | later):
        when = now - timedelta(minutes=1) if pk in due else now + timedelta(hours=1)
        deps.table.put({"pk": pk, "sk": "PROBE", "due_pk": f"timer#probe#{shard_of(pk)}", "due_at": iso(when)})
    assert len({shard_of(pk) for pk in due}) > 48  # the timers really are spread over the 64 shards

    assert enqueue_due(deps, "probe", "member-timers", now) == 64
    shard_messages = _received(deps, SHARD_QUEUE)
    assert sorted(m["shard"] for m in shard_messages) == list(range(64))
    for body in shard_messages:  # each message is one reader's whole job
        runner.handle_record(SHARD_QUEUE, body, deps)

    found = [m["pk"] for m in _received(deps, "member-timers")]
    assert sorted(found) == sorted(due)  # every due timer once, none that is not due


def test_a_shard_message_delivered_twice_only_enqueues_again_what_is_due(sixty_four_shards):
    deps = sixty_four_shards
    now = deps.clock.now()
    deps.table.put(
        {
            "pk": "probe1",
            "sk": "PROBE",
            "due_pk": f"timer#probe#{shard_of('probe1')}",
            "due_at": iso(now - timedelta(seconds=1)),
        }
    )
    body = {"kind": "probe", "shard": shard_of("probe1"), "queue": "member-timers", "now": iso(now)}
    runner.handle_record(SHARD_QUEUE, body, deps)
    runner.handle_record(SHARD_QUEUE, body, deps)
    assert [m["pk"] for m in _received(deps, "member-timers")] == ["probe1", "probe1"]  # workers' guards dedupe


def test_the_shard_count_is_configuration_and_bounded(monkeypatch):
    monkeypatch.setenv("CREDITFIRST_TIMER_SHARDS", "16")
    get_settings.cache_clear()
    try:
        assert shard_count() == 16 and {shard_of(f"k{i}") for i in range(500)} == set(range(16))
        monkeypatch.setenv("CREDITFIRST_TIMER_SHARDS", "0")
        get_settings.cache_clear()
        with pytest.raises(ValueError, match="CREDITFIRST_TIMER_SHARDS"):
            get_settings()
    finally:
        monkeypatch.delenv("CREDITFIRST_TIMER_SHARDS")
        get_settings.cache_clear()
