"""The WeChat Pay Score adapter against a local fake gateway: signed v3 requests, verified answers, the
service-order lifecycle (create with risk_fund, confirm, complete/modify, cancel), consent, reconciliation."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.clock import FixedClock
from chalicelib.domain.errors import ProviderError
from chalicelib.services import callbacks
from tests.helpers import Api
from tests.providers.fakes import FakeWechat, new_key

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def gw() -> FakeWechat:
    fake = FakeWechat()
    yield fake
    fake.stop()


@pytest.fixture
def wechat_env(monkeypatch: pytest.MonkeyPatch, gw: FakeWechat) -> FakeWechat:
    for k, v in gw.env().items():
        monkeypatch.setenv(k, v)
    gw.calls.clear()
    return gw


@pytest.fixture
def provider(wechat_env, aws):  # type: ignore[no-untyped-def]
    aws.clock = FixedClock(NOW)
    wechat_env.now = lambda: int(aws.clock.now().timestamp())
    return aws.provider("wechat")


def test_a_rental_freeze_is_a_service_order_with_a_risk_fund(provider, gw) -> None:
    expires = datetime(2027, 1, 1, tzinfo=timezone.utc)
    result = provider.freeze("rent-1", "rent-1-freeze", "o-user", 50_000, "Camera rental", expires)
    assert result.status == "pending" and result.provider_ref == "rent-1-freeze"
    assert result.provider_params["package"] == "pkg-rent-1-freeze"
    body = gw.calls[-1]["body"]
    assert body["risk_fund"] == {"name": "DEPOSIT", "amount": 50_000, "description": "Camera rental"}
    assert body["notify_url"].endswith("/v1/callbacks/wechat") and body["need_user_confirm"] is True
    assert provider.query("rent-1-freeze").status == "pending"
    gw.orders["rent-1-freeze"]["state"] = "DOING"  # the user confirmed
    answer = provider.query("rent-1-freeze")
    assert answer.status == "succeeded" and answer.expires_at == expires


def test_captures_complete_then_modify_and_release_after_complete_moves_nothing(provider, gw) -> None:
    provider.freeze("rent-2", "rent-2-freeze", "o-user", 50_000, "Drone", NOW)
    first = provider.capture_from_freeze("rent-2-deduction-1", "rent-2-freeze", "o-user", 2_000, "damage")
    again = provider.capture_from_freeze("rent-2-deduction-1", "rent-2-freeze", "o-user", 2_000, "damage")
    rent = provider.capture_from_freeze("rent-2-rent", "rent-2-freeze", "o-user", 9_000, "rent")
    assert first.ok and again.ok and rent.ok
    actions = gw.orders["rent-2-freeze"]["actions"]
    assert [a for a, _ in actions] == ["complete", "modify"]  # the retry did not call again
    assert actions[0][1]["total_amount"] == 2_000 and actions[1][1]["total_amount"] == 11_000
    assert [p["amount"] for p in actions[1][1]["post_payments"]] == [2_000, 9_000]
    assert provider.release("rent-2-release", "rent-2-freeze", "o-user", 39_000).ok
    assert [a for a, _ in gw.orders["rent-2-freeze"]["actions"]] == ["complete", "modify"]


def test_release_without_capture_cancels_the_order_once(provider, gw) -> None:
    provider.freeze("rent-3", "rent-3-freeze", "o-user", 10_000, "Book", NOW)
    assert provider.release("rent-3-release", "rent-3-freeze", "o-user", 10_000).ok
    assert provider.release("rent-3-release", "rent-3-freeze", "o-user", 10_000).ok
    assert [a for a, _ in gw.orders["rent-3-freeze"]["actions"]] == ["cancel"]
    assert provider.query("rent-3-freeze").status == "failed"  # REVOKED: nothing frozen any more


def test_long_request_numbers_are_hashed_and_their_notifications_map_back(provider, gw, client, aws,
                                                                          monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "freeze.succeeded", lambda d, n, u, p: notes.append(n))
    long_no = "rental-0123456789abcdef0123456789-freeze"
    result = provider.freeze("r", long_no, "o-user", 100, "Book", NOW)
    assert len(result.provider_ref) <= 32 and result.provider_ref != long_no
    headers, body = gw.notification("PAYSCORE.USER_CONFIRM", {"out_order_no": result.provider_ref,
                                                              "risk_fund": {"amount": 100}}, event_id="evt-long")
    r = client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)
    assert r.status_code == 204
    assert notes[0].out_request_no == long_no and notes[0].provider_ref == result.provider_ref


def test_requests_carry_a_verifiable_authorization_header(provider, gw, monkeypatch) -> None:
    monkeypatch.setattr(gw, "merchant_key", new_key())  # the gateway no longer knows our key
    with pytest.raises(ProviderError, match="401"):  # our key or config is wrong: retry later, refuse nothing
        provider.freeze("rent-4", "rent-4-freeze", "o-user", 100, "Book", NOW)


def test_answers_not_signed_by_the_platform_are_refused(provider, gw, monkeypatch) -> None:
    monkeypatch.setattr(gw, "platform_key", new_key())
    with pytest.raises(ProviderError):
        provider.freeze("rent-5", "rent-5-freeze", "o-user", 100, "Book", NOW)


def test_stale_answers_are_refused(provider, gw, monkeypatch) -> None:
    monkeypatch.setattr(gw, "now", lambda: int(NOW.timestamp()) - 600)
    with pytest.raises(ProviderError):
        provider.freeze("rent-6", "rent-6-freeze", "o-user", 100, "Book", NOW)


def test_consent_is_pending_then_granted_by_notification(wechat_env, client, aws, monkeypatch) -> None:
    gw = wechat_env
    aws.clock = FixedClock(NOW)
    gw.now = lambda: int(aws.clock.now().timestamp())
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "credit.granted", lambda d, n, u, p: notes.append(n))
    api = Api(client)
    token = api.sign_in("jscode-1", provider="wechat")
    status, out = api.post("/v1/credit/authorizations", {}, token=token)
    assert status == 201 and out["status"] == "pending"
    assert out["provider_params"]["apply_permissions_token"].startswith("tok-")
    code = gw.calls[-1]["body"]["authorization_code"]
    headers, body = gw.notification("PAYSCORE.USER_OPEN_SERVICE", {"authorization_code": code,
                                                                   "openid": "o-jscode-1"}, event_id="evt-open")
    r = client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)
    assert r.status_code == 204
    assert notes[0].kind == "credit.granted" and notes[0].data["provider_user_id"] == "o-jscode-1"
    assert notes[0].data["band"] == "650-699" and notes[0].out_request_no.startswith("m_")


def test_pay_score_consent_grants_the_configured_band_then_closing_withdraws_it(wechat_env, client, aws) -> None:
    gw = wechat_env
    aws.clock = FixedClock(NOW)
    gw.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = api.sign_in("jscode-2", provider="wechat")
    assert api.post("/v1/credit/authorizations", {}, token=token)[1]["status"] == "pending"
    assert api.get("/v1/me", token=token)[1]["score_band"] is None
    code = gw.calls[-1]["body"]["authorization_code"]

    def send(event_type: str, event_id: str) -> int:
        headers, body = gw.notification(event_type, {"authorization_code": code, "openid": "o-jscode-2"},
                                        event_id=event_id)
        return client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers},
                                body=body).status_code

    assert send("PAYSCORE.USER_OPEN_SERVICE", "evt-open-2") == 204
    me = api.get("/v1/me", token=token)[1]
    assert (me["score_band"], me["tier"]) == ("650-699", "normal")
    assert send("PAYSCORE.USER_OPEN_SERVICE", "evt-open-2") == 204  # a replay grants nothing new
    assert send("PAYSCORE.USER_CLOSE_SERVICE", "evt-close-2") == 204
    me = api.get("/v1/me", token=token)[1]
    assert (me["score_band"], me["tier"]) == (None, "none")


def test_a_cash_deposit_gets_signed_payment_parameters_and_is_paid_by_notification(provider, gw, client,
                                                                                   monkeypatch) -> None:
    from chalicelib.providers import keys

    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "deposit.paid", lambda d, n, u, p: notes.append(n))
    result = provider.collect_deposit("rt_9", "o-user", 20_000, "Deposit")
    p = result.provider_params
    message = f"{p['appId']}\n{p['timeStamp']}\n{p['nonceStr']}\n{p['package']}\n".encode()
    assert keys.verify(gw.merchant_key.public_key(), message, p["paySign"])
    headers, body = gw.notification("TRANSACTION.SUCCESS", {"out_trade_no": result.provider_ref,
                                                            "transaction_id": "4200001", "trade_state": "SUCCESS",
                                                            "amount": {"total": 20_000}}, event_id="evt-pay")
    r = client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)
    assert r.status_code == 204
    assert (notes[0].kind, notes[0].amount, notes[0].out_request_no) == ("deposit.paid", 20_000, "rt_9_deposit")


def test_a_bad_login_code_is_a_400_on_code(wechat_env, client) -> None:
    status, out = Api(client).post("/v1/sessions", {"provider": "wechat", "code": "bad"})
    assert status == 400 and out["error"]["field"] == "code"


def test_user_paid_maps_to_the_capture_that_completed_the_order(provider, gw, client, monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "charge.succeeded", lambda d, n, u, p: notes.append(n))
    provider.freeze("rent-11", "rent-11-freeze", "o-user", 30_000, "Tent", NOW)
    assert provider.capture_from_freeze("rent-11-rent", "rent-11-freeze", "o-user", 4_500, "rent").ok
    headers, body = gw.notification("PAYSCORE.USER_PAID", {"out_order_no": "rent-11-freeze", "total_amount": 4_500,
                                                           "collection": {"state": "USER_PAID"}}, event_id="evt-paid")
    r = client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)
    assert r.status_code == 204
    assert (notes[0].kind, notes[0].out_request_no, notes[0].amount) == ("charge.succeeded", "rent-11-rent", 4_500)
    assert provider.query("rent-11-rent").status == "succeeded"
    assert provider.query("unknown-request") is None


def test_an_event_no_handler_knows_is_acknowledged(provider, gw, client) -> None:
    headers, body = gw.notification("PAYSCORE.SOMETHING_NEW", {"x": 1}, event_id="evt-new")
    r = client.http.post("/v1/callbacks/wechat", headers={"Content-Type": "application/json", **headers}, body=body)
    assert r.status_code == 204


def test_a_lost_consent_notification_is_settled_by_query(provider, gw) -> None:
    answer = provider.authorize_credit("o-user", "auth-m1-1700000000")
    assert answer.status == "pending"
    assert provider.query("auth-m1-1700000000").status == "pending"
    gw.consents["auth-m1-1700000000"] = "AVAILABLE"
    settled = provider.query("auth-m1-1700000000")
    assert (settled.status, settled.provider_ref) == ("succeeded", "o-user")


def test_a_success_without_a_signature_is_never_believed(provider, gw, monkeypatch) -> None:
    original = gw.answer

    def unsigned(method, path, headers, body):  # type: ignore[no-untyped-def]
        status, out_headers, raw = original(method, path, headers, body)
        return status, {"Content-Type": "application/json"}, raw

    monkeypatch.setattr(gw, "answer", unsigned)
    with pytest.raises(ProviderError):
        provider.freeze("rent-12", "rent-12-freeze", "o-user", 100, "Book", NOW)
