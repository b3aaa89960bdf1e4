"""POST /v1/callbacks/wechat: the real Pay Score notification verifies, decrypts and is handled once (204);
forged, tampered, stale, replayed and SIGNTEST ones are 401 (or a repeat) with no effect."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.clock import FixedClock
from chalicelib.services import callbacks
from tests.helpers import Contention, metric_points
from tests.providers.fakes import FakeWechat

WECHAT = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "wechatpay_payscore_notify.json").read_text())
AT = datetime.fromtimestamp(int(WECHAT["headers"]["Wechatpay-Timestamp"]), tz=timezone.utc)
EVENT_ID = json.loads(WECHAT["body"])["id"]


@pytest.fixture(scope="module")
def fake() -> FakeWechat:
    gw = FakeWechat(apiv3_key=WECHAT["apiv3_key"])
    yield gw
    gw.stop()


@pytest.fixture
def wechat_env(monkeypatch: pytest.MonkeyPatch, fake: FakeWechat) -> None:
    """The vector's platform certificate AND a newer PUB_KEY_ID_ key, as during a switch."""
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CREDITFIRST_WECHAT_PLATFORM_CERTS", WECHAT["platform_certificate_pem"])


@pytest.fixture
def at_vector_time(aws):  # type: ignore[no-untyped-def]
    aws.clock = FixedClock(AT)
    return aws.clock


@pytest.fixture
def effects(monkeypatch: pytest.MonkeyPatch) -> list:
    notes: list = []

    def handler(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        notes.append(note)
        uow.update(f"TEST#{note.id}", "SEEN", set={"kind": note.kind}, add={"count": 1})

    for kind in ("credit.granted", "freeze.succeeded"):
        monkeypatch.setitem(callbacks.HANDLERS, kind, handler)
    return notes


def post(client, headers: dict, body: bytes):  # type: ignore[no-untyped-def]
    return client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)


def count(aws, event_id: str) -> int:  # type: ignore[no-untyped-def]
    item = aws.table.get(f"TEST#{event_id}", "SEEN")
    return item["count"] if item else 0


def test_the_real_notification_is_handled_once_with_204(wechat_env, client, aws, at_vector_time, effects) -> None:
    for _ in range(3):
        r = post(client, WECHAT["headers"], WECHAT["body"].encode())
        assert r.status_code == 204
    assert count(aws, EVENT_ID) == 1
    note = effects[0]
    assert note.kind == "credit.granted" and note.id == EVENT_ID
    assert note.out_request_no == "21640bdbd08e473e828f3206a2741c6e"


@pytest.mark.parametrize("change", ["body", "timestamp", "signature", "serial", "signtest", "clock"])
def test_tampered_stale_or_probe_notifications_are_401_with_no_effect(wechat_env, client, aws, at_vector_time,
                                                                       effects, change) -> None:
    headers, body = dict(WECHAT["headers"]), WECHAT["body"].encode()
    if change == "body":
        body = body.replace("签约成功".encode(), "签约失败".encode())
        assert body != WECHAT["body"].encode()
    elif change == "timestamp":
        headers["Wechatpay-Timestamp"] = str(int(headers["Wechatpay-Timestamp"]) - 1)
    elif change == "signature":
        headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][::-1]
    elif change == "serial":
        headers["Wechatpay-Serial"] = "PUB_KEY_ID_0000000000000000000000000000000000"
    elif change == "signtest":
        headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    else:
        at_vector_time.advance(301)
    r = post(client, headers, body)
    assert r.status_code == 401
    assert json.loads(r.body)["error"]["code"] == "invalid_signature"
    assert effects == [] and count(aws, EVENT_ID) == 0
    assert aws.table.get(f"NOTIF#wechat#{EVENT_ID}", "NOTIF") is None


def test_the_newer_public_key_id_is_accepted_alongside_the_certificate(wechat_env, client, aws, fake,
                                                                       effects) -> None:
    aws.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    fake.now = lambda: int(aws.clock.now().timestamp())
    headers, body = fake.notification("PAYSCORE.USER_CONFIRM", {"out_order_no": "rent-1-freeze",
                                                                "risk_fund": {"name": "DEPOSIT", "amount": 5000}},
                                      event_id="evt-confirm")
    assert headers["Wechatpay-Serial"].startswith("PUB_KEY_ID_")
    assert post(client, headers, body).status_code == 204
    assert post(client, headers, body).status_code == 204
    assert count(aws, "evt-confirm") == 1
    assert effects[0].kind == "freeze.succeeded" and effects[0].amount == 5000
    assert effects[0].out_request_no == "rent-1-freeze" and effects[0].provider_ref == "rent-1-freeze"


def test_a_resource_encrypted_with_another_key_is_401(wechat_env, client, aws, fake, effects) -> None:
    aws.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    fake.now = lambda: int(aws.clock.now().timestamp())
    other = FakeWechat.__new__(FakeWechat)
    other.apiv3_key, other.platform_key, other.serial, other.now = "x" * 32, fake.platform_key, fake.serial, fake.now
    headers, body = other.notification("PAYSCORE.USER_CONFIRM", {"out_order_no": "rent-2-freeze"},
                                       event_id="evt-x")
    assert post(client, headers, body).status_code == 401
    assert effects == []


def test_a_body_that_is_not_a_notification_is_401(wechat_env, client, aws, fake, effects) -> None:
    aws.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    fake.now = lambda: int(aws.clock.now().timestamp())
    for body in (b"[]", b"{}", b'{"id": "e"}', b"not json"):
        assert post(client, fake.signed_headers(body), body).status_code == 401
    assert effects == []


def test_a_notification_contention_keeps_from_applying_is_a_500_fail_counted_and_applied_once_later(
        wechat_env, client, aws, at_vector_time, effects, monkeypatch, capsys) -> None:
    contention = Contention(monkeypatch, aws.table, "NOTIF#")
    capsys.readouterr()
    r = post(client, WECHAT["headers"], WECHAT["body"].encode())
    assert r.status_code == 500  # 4XX/5XX with {"code": "FAIL"}: WeChat Pay sends it again
    answer = json.loads(r.body)
    assert answer["code"] == "FAIL" and answer["message"] and set(answer) == {"code", "message"}
    assert count(aws, EVENT_ID) == 0
    points = metric_points(capsys.readouterr().out, callbacks.NOT_APPLIED)
    assert [(p["provider"], p[callbacks.NOT_APPLIED]) for p in points] == [("wechat", [1.0])]
    contention.end()
    for _ in range(2):
        assert post(client, WECHAT["headers"], WECHAT["body"].encode()).status_code == 204
    assert count(aws, EVENT_ID) == 1
