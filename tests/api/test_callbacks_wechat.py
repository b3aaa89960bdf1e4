"""POST /v1/callbacks/wechat: the real Pay Score notification verifies, decrypts and is handled once (204);
forged, tampered, stale, replayed and SIGNTEST ones are 401 (or a repeat) with no effect; each event type
reaches the neutral kind the services handle (USER_CLOSE_SERVICE -> credit.withdrawn, REFUND.* -> refund.*)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.clock import FixedClock
from chalicelib.services import callbacks
from tests.helpers import Contention, metric_points
from tests.providers.fake_wechat import FakeWechat

WECHAT = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "wechatpay_payscore_notify.json").read_text())
AT = datetime.fromtimestamp(int(WECHAT["headers"]["Wechatpay-Timestamp"]), tz=timezone.utc)
EVENT_ID = json.loads(WECHAT["body"])["id"]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
KINDS = (
    "credit.granted",
    "credit.withdrawn",
    "freeze.succeeded",
    "paylater.confirmed",
    "charge.succeeded",
    "refund.succeeded",
    "refund.failed",
)


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
def now(aws, fake):  # type: ignore[no-untyped-def]
    aws.clock = FixedClock(NOW)
    fake.now = lambda: int(aws.clock.now().timestamp())
    fake.outbox.clear()
    return aws.clock


@pytest.fixture
def effects(monkeypatch: pytest.MonkeyPatch) -> list:
    notes: list = []

    def handler(deps, note, uow, provider):  # type: ignore[no-untyped-def]
        notes.append(note)
        uow.update(f"TEST#{note.id}", "SEEN", set={"kind": note.kind}, add={"count": 1})

    for kind in KINDS:
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
def test_tampered_stale_or_probe_notifications_are_401_with_no_effect(
    wechat_env, client, aws, at_vector_time, effects, change
) -> None:
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


def test_the_newer_public_key_id_is_accepted_alongside_the_certificate(
    wechat_env, client, aws, fake, now, effects
) -> None:
    headers, body = fake.notify(
        "PAYSCORE.USER_CONFIRM",
        {"out_order_no": "rt_00000000000000000001_freeze", "risk_fund": {"name": "DEPOSIT", "amount": 5000}},
        "payscore",
    )
    assert headers["Wechatpay-Serial"].startswith("PUB_KEY_ID_")
    assert post(client, headers, body).status_code == 204
    assert post(client, headers, body).status_code == 204
    assert effects[0].kind == "freeze.succeeded" and effects[0].amount == 5000
    assert count(aws, json.loads(body)["id"]) == 1
    assert effects[0].out_request_no == "rt_00000000000000000001_freeze"


def test_closing_the_service_in_wechat_withdraws_the_credit(wechat_env, client, aws, fake, now, effects) -> None:
    answer = aws.provider("wechat").authorize_credit("o-close", "auth_close_1")
    assert fake.user_opens_service(answer.provider_params, "o-close") is not None
    fake.user_closes_service("o-close")
    assert fake.deliver(client) == [204, 204]
    assert [(n.kind, n.data["provider_user_id"]) for n in effects] == [
        ("credit.granted", "o-close"),
        ("credit.withdrawn", "o-close"),
    ]


@pytest.mark.parametrize(
    "status, kind", [("SUCCESS", "refund.succeeded"), ("ABNORMAL", "refund.failed"), ("CLOSED", "refund.failed")]
)
def test_refund_notifications_settle_our_refund_number(
    wechat_env, client, aws, fake, now, effects, status, kind
) -> None:
    fake.transactions["4200000000000000000000000001"] = {"total": 9_900, "out_trade_no": "x", "refunded": 0}
    number = f"ord_0000000000000000000{len(fake.refunds)}_rfd1"
    p = aws.provider("wechat")
    p.refund(number, "4200000000000000000000000001", "o-user", 1_000, charged_total=9_900)
    fake.finish_refund(number, status)
    assert fake.deliver(client) == [204]
    assert (effects[0].kind, effects[0].out_request_no, effects[0].amount) == (kind, number, 1_000)


def test_user_paid_settles_the_charge_that_completed_the_order(wechat_env, client, aws, fake, now, effects) -> None:
    p = aws.provider("wechat")
    opened = p.open_pay_later("ord_00000000000000000009_pl", "o-user", 9_900, "Tea", NOW)
    now.advance(60)
    fake.user_confirms(opened.provider_params, "o-user")
    assert fake.deliver(client) == [204]
    now.advance(7 * 86_400)
    p.charge("ord_00000000000000000009_charge1", "o-user", 9_900, "Tea", agreement_ref=opened.provider_ref)
    fake.collect(opened.provider_ref)
    assert fake.deliver(client) == [204]
    confirmed, paid = effects
    assert (confirmed.kind, confirmed.out_request_no) == ("paylater.confirmed", "ord_00000000000000000009_pl")
    assert (paid.kind, paid.out_request_no, paid.amount) == (
        "charge.succeeded",
        "ord_00000000000000000009_charge1",
        9_900,
    )
    assert paid.provider_ref.startswith("4200") and fake.violations == []


def test_a_resource_encrypted_with_another_key_is_401(wechat_env, client, aws, fake, now, effects) -> None:
    key, fake.apiv3_key = fake.apiv3_key, "x" * 32
    try:
        headers, body = fake.notify("PAYSCORE.USER_CONFIRM", {"out_order_no": "rt_2_freeze"}, "payscore")
    finally:
        fake.apiv3_key = key
    fake.outbox.clear()
    assert post(client, headers, body).status_code == 401
    assert effects == []


def test_a_body_that_is_not_a_notification_is_401(wechat_env, client, aws, fake, now, effects) -> None:
    for body in (b"[]", b"{}", b'{"id": "e"}', b"not json"):
        assert post(client, fake.signed_headers(body), body).status_code == 401
    assert effects == []


def test_a_notification_contention_keeps_from_applying_is_a_500_fail_counted_and_applied_once_later(
    wechat_env, client, aws, at_vector_time, effects, monkeypatch, capsys
) -> None:
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
