"""POST /v1/callbacks/alipay: the real notification is handled once and answered `success`; forged,
tampered and replayed ones have no (second) effect."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from chalicelib.services import callbacks
from tests.helpers import Contention, metric_points

ALIPAY = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "alipay_trade_status_sync.json").read_text())
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture
def alipay_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITFIRST_ALIPAY_PUBLIC_KEY", ALIPAY["alipay_public_key_base64_der"])
    monkeypatch.setenv("CREDITFIRST_ALIPAY_APP_ID", ALIPAY["params"]["app_id"])


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list:
    """A stand-in charge handler that writes a marker in the notification's own transaction."""
    notes: list = []

    def handler(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        notes.append(note)
        uow.update(f"TEST#{note.id}", "SEEN", set={"amount": note.amount}, add={"count": 1})

    monkeypatch.setitem(callbacks.HANDLERS, "charge.succeeded", handler)
    return notes


def post(client, params: dict) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(params).encode("utf-8"))
    return r.status_code, r.body.decode()


def marked(aws, notify_id: str) -> bool:  # type: ignore[no-untyped-def]
    return (
        aws.table.get(f"TEST#{notify_id}", "SEEN") is not None
        or aws.table.get(f"NOTIF#alipay#{notify_id}", "NOTIF") is not None
    )


def test_the_real_notification_is_handled_and_answered_success(alipay_env, client, aws, seen) -> None:
    status, body = post(client, ALIPAY["params"])
    assert (status, body) == (200, "success")
    assert len(seen) == 1 and seen[0].kind == "charge.succeeded" and seen[0].amount == 10
    assert seen[0].out_request_no == "20190815155618536-564-57"
    assert aws.table.get(f"TEST#{ALIPAY['params']['notify_id']}", "SEEN")["amount"] == 10


def test_a_replayed_notification_gets_the_same_answer_and_no_second_effect(alipay_env, client, aws, seen) -> None:
    assert post(client, ALIPAY["params"]) == (200, "success")
    assert post(client, ALIPAY["params"]) == (200, "success")
    assert post(client, ALIPAY["params"]) == (200, "success")
    assert aws.table.get(f"TEST#{ALIPAY['params']['notify_id']}", "SEEN")["count"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"total_amount": "100.00"},
        {"trade_status": "TRADE_CLOSED"},
        {"out_trade_no": "someone-elses"},
        {"sign": "Zm9yZ2Vk"},
        {"sign": ""},
        {"extra": "1"},
    ],
)
def test_a_tampered_or_forged_notification_is_401_with_no_effect(alipay_env, client, aws, seen, change) -> None:
    status, body = post(client, {**ALIPAY["params"], **change})
    assert status == 401
    assert json.loads(body)["error"]["code"] == "invalid_signature"
    assert seen == [] and not marked(aws, ALIPAY["params"]["notify_id"])


def test_garbage_bodies_are_401(alipay_env, client, aws, seen) -> None:
    for raw in (b"", b"not a form", b"\xff\xfe=1", json.dumps(ALIPAY["params"]).encode()):
        r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=raw)
        assert r.status_code == 401, raw
    assert seen == []


def test_a_notification_for_another_app_is_refused(monkeypatch, alipay_env, client, aws, seen) -> None:
    from chalicelib import bootstrap
    from chalicelib.config import get_settings

    monkeypatch.setenv("CREDITFIRST_ALIPAY_APP_ID", "2021999999999999")
    get_settings.cache_clear()
    aws.settings = get_settings()
    aws.providers.clear()
    assert bootstrap.deps() is aws
    assert post(client, ALIPAY["params"])[0] == 401
    assert seen == []


def test_a_failing_handler_is_not_answered_success_so_alipay_retries(alipay_env, client, aws, monkeypatch) -> None:
    def broken(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        raise RuntimeError("store down")

    monkeypatch.setitem(callbacks.HANDLERS, "charge.succeeded", broken)
    status, body = post(client, ALIPAY["params"])
    assert status >= 500 and body != "success"
    assert not marked(aws, ALIPAY["params"]["notify_id"])


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded;charset=utf-8", "application/x-www-form-urlencoded"]
)
def test_alipays_content_type_spellings_are_accepted(alipay_env, client, aws, seen, content_type) -> None:
    r = client.http.post(
        "/v1/callbacks/alipay", headers={"Content-Type": content_type}, body=urlencode(ALIPAY["params"]).encode("utf-8")
    )
    assert (r.status_code, r.body) == (200, b"success")


def test_a_notification_contention_keeps_from_applying_is_answered_fail_counted_and_applied_once_later(
    alipay_env, client, aws, seen, monkeypatch, capsys
) -> None:
    contention = Contention(monkeypatch, aws.table, "NOTIF#")
    capsys.readouterr()
    assert post(client, ALIPAY["params"]) == (200, "fail")  # anything but `success`: Alipay sends it again
    assert not marked(aws, ALIPAY["params"]["notify_id"])
    points = metric_points(capsys.readouterr().out, callbacks.NOT_APPLIED)
    assert [(p["provider"], p[callbacks.NOT_APPLIED]) for p in points] == [("alipay", [1.0])]
    contention.end()
    assert post(client, ALIPAY["params"]) == (200, "success")  # the resend (same notify_id) applies it
    assert post(client, ALIPAY["params"]) == (200, "success")
    assert aws.table.get(f"TEST#{ALIPAY['params']['notify_id']}", "SEEN")["count"] == 1
