"""POST /v1/callbacks/sandbox: a bad or missing HMAC is 401 and changes nothing; a good one is applied once."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.providers.sandbox import sign
from chalicelib.services import callbacks
from tests.helpers import Contention, metric_points


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list:
    """Notification ids whose handling committed; each commit also counts in the table (HANDLED item)."""
    notes: list = []

    def handler(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        uow.update("HANDLED", note.id, add={"times": 1})
        uow.after_commit(lambda: notes.append(note.id))

    monkeypatch.setitem(callbacks.HANDLERS, "freeze.succeeded", handler)
    return notes


BODY = json.dumps({"id": "ntf-x", "kind": "freeze.succeeded", "out_request_no": "r1-freeze"}).encode()


@pytest.mark.parametrize("bad", ["wrong_secret", "missing", "stale", "body_changed"])
def test_a_bad_sandbox_signature_is_401_and_no_effect(client, aws, seen, bad) -> None:
    ts = str(int(time.time()) - (400 if bad == "stale" else 0))
    secret = "not-the-secret" if bad == "wrong_secret" else aws.settings.sandbox_secret
    headers = {
        "Content-Type": "application/json",
        "X-Sandbox-Timestamp": ts,
        "X-Sandbox-Signature": sign(secret, ts, BODY),
    }
    if bad == "missing":
        del headers["X-Sandbox-Signature"]
    body = BODY.replace(b"r1-freeze", b"r2-freeze") if bad == "body_changed" else BODY
    r = client.http.post("/v1/callbacks/sandbox", headers=headers, body=body)
    assert r.status_code == 401
    assert json.loads(r.body)["error"]["code"] == "invalid_signature"
    assert seen == [] and aws.table.get("NOTIF#sandbox#ntf-x", "NOTIF") is None
    assert aws.table.get("HANDLED", "ntf-x") is None


def test_a_good_sandbox_signature_is_handled_once(client, aws, seen) -> None:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Sandbox-Timestamp": ts,
        "X-Sandbox-Signature": sign(aws.settings.sandbox_secret, ts, BODY),
    }
    answers = [client.http.post("/v1/callbacks/sandbox", headers=headers, body=BODY) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].body == answers[1].body
    assert seen == ["ntf-x"]  # the repeat committed nothing
    assert aws.table.get("HANDLED", "ntf-x")["times"] == 1
    assert aws.table.get("NOTIF#sandbox#ntf-x", "NOTIF")["out_request_no"] == "r1-freeze"


def test_a_notification_contention_keeps_from_applying_is_a_503_counted_and_applied_once_later(
    client, aws, monkeypatch, capsys
) -> None:
    def handler(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        uow.update(f"TEST#{note.id}", "SEEN", add={"count": 1})

    monkeypatch.setitem(callbacks.HANDLERS, "freeze.succeeded", handler)
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Sandbox-Timestamp": ts,
        "X-Sandbox-Signature": sign(aws.settings.sandbox_secret, ts, BODY),
    }
    contention = Contention(monkeypatch, aws.table, "NOTIF#")
    capsys.readouterr()
    r = client.http.post("/v1/callbacks/sandbox", headers=headers, body=BODY)
    assert r.status_code == 503 and json.loads(r.body) == {"status": "retry"}  # a 5xx: sent again
    assert contention.hits == callbacks.ATTEMPTS
    assert aws.table.get("NOTIF#sandbox#ntf-x", "NOTIF") is None and aws.table.get("TEST#ntf-x", "SEEN") is None
    points = metric_points(capsys.readouterr().out, callbacks.NOT_APPLIED)
    assert [(p["provider"], p[callbacks.NOT_APPLIED]) for p in points] == [("sandbox", [1.0])]
    contention.end()
    for _ in range(2):  # the resend applies it; a repeat of the resend has no second effect
        assert client.http.post("/v1/callbacks/sandbox", headers=headers, body=BODY).status_code == 200
    assert aws.table.get("TEST#ntf-x", "SEEN")["count"] == 1
    assert metric_points(capsys.readouterr().out, callbacks.NOT_APPLIED) == []
