"""The Alipay adapter against a local fake gateway: signed requests, verified answers, the band search in
at most 3 Zhima calls, the freeze order string, capture/release/refund and reconciliation queries."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

import pytest

from chalicelib.domain.credit import BANDS
from chalicelib.domain.errors import ProviderError
from chalicelib.services import callbacks
from tests.helpers import Api
from tests.providers.fakes import FakeAlipay, new_key

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def gw() -> FakeAlipay:
    fake = FakeAlipay()
    yield fake
    fake.stop()


@pytest.fixture
def alipay_env(monkeypatch: pytest.MonkeyPatch, gw: FakeAlipay) -> FakeAlipay:
    for k, v in gw.env().items():
        monkeypatch.setenv(k, v)
    gw.calls.clear()
    return gw


@pytest.fixture
def provider(alipay_env, aws):  # type: ignore[no-untyped-def]
    return aws.provider("alipay")


def zhima_calls(gw: FakeAlipay) -> list[int]:
    return [json.loads(c["biz_content"])["admit_score"] for c in gw.calls
            if c.get("method") == "zhima.credit.score.brief.get"]


SCORES = [350, 549, 550, 599, 600, 649, 650, 699, 700, 749, 750, 799, 800, 950]


def test_every_score_lands_in_its_band_in_at_most_three_zhima_calls(provider, gw) -> None:
    for i, score in enumerate(SCORES):
        gw.scores[f"2088{i:012d}"] = score
        gw.calls.clear()
        answer = provider.authorize_credit(f"2088{i:012d}", f"auth-{i}")
        low, high = next((lo, hi) for lo, hi in BANDS if lo <= score <= hi)
        assert (answer.status, answer.band) == ("granted", f"{low}-{high}"), score
        assert 1 <= len(zhima_calls(gw)) <= 3, (score, zhima_calls(gw))


def test_outbound_calls_are_rsa2_signed_with_beijing_timestamps(provider, gw) -> None:
    gw.scores["2088000000000099"] = 720
    provider.authorize_credit("2088000000000099", "auth-x")
    for call in gw.calls:
        assert gw.check_signed(call) and call["sign_type"] == "RSA2" and call["charset"] == "utf-8"
        datetime.strptime(call["timestamp"], "%Y-%m-%d %H:%M:%S")
    biz = json.loads(gw.calls[0]["biz_content"])
    assert biz["cert_type"] == "ALIPAY_USER_ID" and biz["cert_no"] == "2088000000000099"
    now_bj = datetime.now(timezone.utc) + timedelta(hours=8)
    sent = datetime.strptime(gw.calls[0]["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs((now_bj.replace(tzinfo=None) - sent).total_seconds()) < 120


def test_an_answer_not_signed_by_alipay_is_refused(provider, gw, monkeypatch) -> None:
    gw.scores["2088000000000098"] = 720
    monkeypatch.setattr(gw, "alipay_key", new_key())
    with pytest.raises(ProviderError):
        provider.authorize_credit("2088000000000098", "auth-y")


def test_a_tampered_answer_is_refused(provider, gw, monkeypatch) -> None:
    original = gw.respond

    def tamper(method, node):  # type: ignore[no-untyped-def]
        status, headers, body = original(method, node)
        return status, headers, body.replace(b'"is_admittance": "N"', b'"is_admittance": "Y"')

    monkeypatch.setattr(gw, "respond", tamper)
    gw.scores["2088000000000097"] = 500
    with pytest.raises(ProviderError):
        provider.authorize_credit("2088000000000097", "auth-z")


def test_freeze_is_a_signed_order_string_and_its_notification_settles_it(provider, gw, client, aws,
                                                                         monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "freeze.succeeded", lambda d, n, u, p: notes.append(n))
    expires = datetime(2027, 2, 1, tzinfo=timezone.utc)
    result = provider.freeze("rent-9", "rent-9-freeze", "2088000000000001", 123_45, "Camera", expires)
    assert result.status == "pending" and result.provider_params["order_str"]
    params = dict(parse_qsl(result.provider_params["order_str"]))
    assert params["method"] == "alipay.fund.auth.order.app.freeze" and gw.check_signed(params)
    biz = json.loads(params["biz_content"])
    assert (biz["amount"], biz["out_order_no"], biz["out_request_no"]) == ("123.45", "rent-9", "rent-9-freeze")
    form = gw.open_freeze(result.provider_params["order_str"])
    r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode())
    assert (r.status_code, r.body) == (200, b"success")
    assert notes[0].kind == "freeze.succeeded" and notes[0].amount == 12345
    assert notes[0].provider_ref.startswith("2026AUTH") and notes[0].data["expires_at"] == "2027-02-01T00:00:00.000Z"
    answer = provider.query("rent-9-freeze")
    assert answer.status == "succeeded" and answer.provider_ref == notes[0].provider_ref
    assert answer.expires_at == expires


def test_a_refused_freeze_notifies_freeze_failed(provider, gw, client, monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "freeze.failed", lambda d, n, u, p: notes.append(n))
    result = provider.freeze("rent-8", "rent-8-freeze", "2088000000000001", 100, "Book",
                             datetime(2027, 1, 1, tzinfo=timezone.utc))
    form = gw.open_freeze(result.provider_params["order_str"], succeed=False)
    r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode())
    assert r.body == b"success" and notes[0].kind == "freeze.failed"
    assert provider.query("rent-8-freeze").status == "failed"


def test_capture_does_not_complete_the_freeze_and_release_unfreezes_the_rest(provider, gw) -> None:
    captured = provider.capture_from_freeze("rent-7-rent", "2026AUTH1", "2088000000000001", 3_000, "rent")
    assert captured.status == "succeeded" and captured.provider_ref
    pay = json.loads(next(c for c in gw.calls if c["method"] == "alipay.trade.pay")["biz_content"])
    assert (pay["auth_no"], pay["auth_confirm_mode"], pay["total_amount"]) == ("2026AUTH1", "NOT_COMPLETE", "30.00")
    released = provider.release("rent-7-release", "2026AUTH1", "2088000000000001", 7_000)
    assert released.status == "succeeded"
    unfreeze = json.loads(next(c for c in gw.calls if c["method"] == "alipay.fund.auth.order.unfreeze")["biz_content"])
    assert (unfreeze["amount"], unfreeze["out_request_no"]) == ("70.00", "rent-7-release")
    assert provider.query("rent-7-rent").status == "succeeded"


def test_refund_and_queries_of_unknown_requests(provider, gw) -> None:
    assert provider.refund("ord-1-refund-1", "2026000000000001", "2088000000000001", 1).status == "succeeded"
    refund = json.loads(next(c for c in gw.calls if c["method"] == "alipay.trade.refund")["biz_content"])
    assert refund["refund_amount"] == "0.01"
    assert provider.query("never-asked") is None


def test_sign_in_and_authorize_through_the_api(alipay_env, client, aws) -> None:
    gw = alipay_env
    gw.users["auth-code-1"], gw.scores["2088111122223333"] = "2088111122223333", 733
    api = Api(client)
    token = api.sign_in("auth-code-1", provider="alipay")
    gw.calls.clear()
    status, out = api.post("/v1/credit/authorizations", {}, token=token)
    assert status == 201 and (out["status"], out["score_band"], out["tier"]) == ("granted", "700-749", "silver")
    assert len(zhima_calls(gw)) <= 3
    status, me = api.get("/v1/me", token=token)
    assert me["score_band"] == "700-749" and "733" not in json.dumps(me)


def test_a_bad_login_code_is_not_a_session(alipay_env, client) -> None:
    status, out = Api(client).post("/v1/sessions", {"provider": "alipay", "code": "nope"})
    assert status == 400 and out["error"]["field"] == "code"


def test_a_cash_deposit_is_paid_by_notification_as_deposit_paid(provider, gw, client, monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "deposit.paid", lambda d, n, u, p: notes.append(n))
    result = provider.collect_deposit("rt_5", "2088000000000001", 20_000, "Deposit")
    assert result.status == "pending" and result.provider_params["trade_no"]
    form = gw.notification(notify_type="trade_status_sync", out_trade_no="rt_5_deposit",
                           trade_no=result.provider_ref, trade_status="TRADE_SUCCESS", total_amount="200.00")
    r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode())
    assert r.body == b"success"
    assert (notes[0].kind, notes[0].amount, notes[0].out_request_no) == ("deposit.paid", 20_000, "rt_5_deposit")


def test_installments_are_a_huabei_trade_with_the_fee_on_the_merchant(provider, gw, client, monkeypatch) -> None:
    notes: list = []
    monkeypatch.setitem(callbacks.HANDLERS, "charge.succeeded", lambda d, n, u, p: notes.append(n))
    result = provider.open_installments("ord-3-charge", "2088000000000001", 120_001, 12, "Laptop")
    assert result.status == "pending" and result.provider_params["trade_no"]
    biz = json.loads(gw.calls[-1]["biz_content"])
    assert biz["extend_params"] == {"hb_fq_num": "12", "hb_fq_seller_percent": "100"}
    assert biz["total_amount"] == "1200.01" and biz["timeout_express"] == "30m" and biz["buyer_id"] == "2088000000000001"
    assert provider.query("ord-3-charge").status == "pending"  # WAIT_BUYER_PAY until the user pays
    form = gw.pay_trade(result.provider_ref)
    r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode())
    assert r.body == b"success" and (notes[0].kind, notes[0].amount) == ("charge.succeeded", 120_001)
    assert provider.query("ord-3-charge").status == "succeeded"


def test_a_retried_capture_that_went_through_is_a_success_not_a_failure(provider, gw) -> None:
    first = provider.capture_from_freeze("rent-6-rent", "2026AUTH6", "2088000000000001", 1_000, "rent")
    again = provider.capture_from_freeze("rent-6-rent", "2026AUTH6", "2088000000000001", 1_000, "rent")
    assert first.ok and again.ok and again.provider_ref == first.provider_ref


def test_a_capture_in_process_is_pending(provider, gw, monkeypatch) -> None:
    monkeypatch.setattr(gw, "pay_answer", {"code": "10003", "msg": "in process", "trade_no": "t1"})
    assert provider.capture_from_freeze("rent-5-rent", "2026AUTH5", "2088000000000001", 1_000, "rent").status \
        == "pending"


def test_a_query_that_cannot_answer_never_settles_an_operation_as_failed(provider, gw, monkeypatch) -> None:
    expires = datetime(2027, 1, 1, tzinfo=timezone.utc)
    provider.freeze("rent-4", "rent-4-freeze", "2088000000000001", 100, "Book", expires)
    monkeypatch.setattr(gw, "detail_answer", {"code": "40004", "msg": "Business Failed", "sub_code": "SYSTEM_ERROR"})
    assert provider.query("rent-4-freeze").status == "pending"
    monkeypatch.setattr(gw, "detail_answer", None)
    assert provider.query("rent-4-freeze") is None  # the user never opened it: Alipay has no such operation
