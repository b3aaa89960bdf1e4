"""The Alipay adapter against the strict fake gateway, in key mode and in certificate mode: every request
signed and accepted with zero rule violations, and each of issue 13's defects fixed (the old request shapes are
refused by the fake: tests/providers/test_alipay_fake.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest

from chalicelib.domain.credit import BANDS
from chalicelib.domain.errors import ProviderError
from tests.providers.fake_alipay import FakeAlipay
from tests.providers.fakes import new_key

EXPIRES = datetime(2027, 2, 1, tzinfo=timezone.utc)
USER = "2088000000000001"


@pytest.fixture(scope="module", params=["key", "cert"])
def gw(request) -> FakeAlipay:  # type: ignore[no-untyped-def]
    fake = FakeAlipay(cert_mode=request.param == "cert")
    yield fake
    fake.stop()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, gw: FakeAlipay, aws):  # type: ignore[no-untyped-def]
    values = {k.removeprefix("CREDITFIRST_").lower(): v for k, v in gw.env().items()}
    monkeypatch.setattr(aws, "settings", replace(aws.settings, **values))
    gw.calls.clear()
    gw.violations.clear()
    gw.init_state()
    aws.providers.pop("alipay", None)
    yield aws.provider("alipay")
    assert gw.violations == []


def _frozen(provider, gw: FakeAlipay, rid: str, amount: int = 10_000, user: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """A confirmed freeze: out_order_no rid, out_request_no rid_freeze; returns auth_no."""
    result = provider.freeze(rid, f"{rid}_freeze", USER, amount, "Camera", EXPIRES)
    return gw.open_freeze(result.provider_params["order_str"], user=user)["auth_no"]


SCORES = [350, 549, 550, 599, 600, 649, 650, 699, 700, 749, 750, 799, 800, 950]


def test_every_score_lands_in_its_band_asking_only_band_edges_with_admittance_score(provider, gw) -> None:
    for i, score in enumerate(SCORES):
        gw.scores[f"2088{i:012d}"] = score
        gw.calls.clear()
        answer = provider.authorize_credit(f"2088{i:012d}", f"auth-m_{i}-1700000000")
        low, high = next((lo, hi) for lo, hi in BANDS if lo <= score <= hi)
        assert (answer.status, answer.band) == ("granted", f"{low}-{high}"), score
        asked = gw.bizs("zhima.credit.score.brief.get")
        assert 1 <= len(asked) <= 3 and {b["admittance_score"] for b in asked} <= {550, 600, 650, 700, 750, 800}
        assert all("admit_score" not in b and "-" not in b["transaction_id"] for b in asked)  # defect 1


def test_the_band_edges_are_cached_per_member_for_the_snapshots_life(provider, gw, aws) -> None:
    gw.scores[USER] = 720
    first = provider.authorize_credit(USER, "auth-1")
    asked = len(gw.bizs("zhima.credit.score.brief.get"))
    assert provider.authorize_credit(USER, "auth-2") == first
    assert len(gw.bizs("zhima.credit.score.brief.get")) == asked  # answered from cache, Zhima not asked again
    aws.clock.advance(31 * 86_400)
    provider.authorize_credit(USER, "auth-3")
    assert len(gw.bizs("zhima.credit.score.brief.get")) > asked  # the snapshot's life is over: asked again


def test_a_user_zhima_cannot_assess_is_declined(provider, gw) -> None:
    assert provider.authorize_credit("2088000000000404", "auth-na").status == "declined"  # is_admittance N/A


def test_requests_are_signed_and_in_cert_mode_name_the_configured_certificates(provider, gw) -> None:
    gw.scores[USER] = 700
    provider.authorize_credit(USER, "auth-sig")
    for call in gw.calls:
        assert gw.signed_by_merchant(call) and call["sign_type"] == "RSA2"
        assert ("app_cert_sn" in call) == gw.cert_mode  # defect 8
        if gw.cert_mode:
            assert (call["app_cert_sn"], call["alipay_root_cert_sn"]) == (
                gw.certs.app_cert_sn,
                gw.certs.alipay_root_cert_sn,
            )


def test_an_answer_not_signed_by_alipay_is_refused(provider, gw, monkeypatch) -> None:
    gw.scores["2088000000000098"] = 720
    monkeypatch.setattr(gw, "alipay_key", new_key())
    with pytest.raises(ProviderError):
        provider.authorize_credit("2088000000000098", "auth-y")


def test_in_cert_mode_an_answer_naming_another_certificate_is_refused(provider, gw, monkeypatch) -> None:
    if not gw.cert_mode:
        pytest.skip("certificate mode only")
    monkeypatch.setattr(gw.certs, "alipay_cert_sn", "0" * 32)
    gw.scores["2088000000000097"] = 720
    with pytest.raises(ProviderError, match="certificate"):
        provider.authorize_credit("2088000000000097", "auth-z")


def test_login_picks_the_mode_login_returned(provider, gw) -> None:
    gw.users.update({"c-uid": {"user_id": USER}, "c-oid": {"open_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY"}})
    assert provider.login("c-uid").provider_user_id == USER
    assert provider.login("c-oid").provider_user_id == "openid:074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY"


def test_open_id_users_are_never_sent_as_buyer_id_or_cert_no(provider, gw) -> None:  # defect 2
    open_id = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY"
    gw.users["c-oid2"] = {"open_id": open_id}
    gw.scores[open_id] = 760
    member = provider.login("c-oid2").provider_user_id
    assert provider.authorize_credit(member, "auth-oid").band == "750-799"
    assert all(b["open_id"] == open_id and "cert_no" not in b for b in gw.bizs("zhima.credit.score.brief.get"))
    auth_no = _frozen(provider, gw, "rt_oid1", user="c-oid2")
    assert provider.capture_from_freeze("rt_oid1_rent", auth_no, member, 500, "rent 1 day").ok
    (pay,) = gw.bizs("alipay.trade.pay")
    assert pay["buyer_open_id"] == open_id and "buyer_id" not in pay
    provider.open_installments("ord_oid1_charge1", member, 120_000, 6, "Laptop")
    (create,) = gw.bizs("alipay.trade.create")
    assert create["buyer_open_id"] == open_id and "buyer_id" not in create


def test_freeze_order_string_and_query(provider, gw) -> None:
    result = provider.freeze("rt_9", "rt_9_freeze", USER, 123_45, "Camera", EXPIRES)
    params = dict(parse_qsl(result.provider_params["order_str"]))
    biz = json.loads(params["biz_content"])
    assert (biz["amount"], biz["out_order_no"], biz["out_request_no"], biz["product_code"]) == (
        "123.45",
        "rt_9",
        "rt_9_freeze",
        "PREAUTH_PAY",
    )
    assert json.loads(biz["extra_param"])["serviceId"] == gw.service_id
    gw.open_freeze(result.provider_params["order_str"])
    answer = provider.query("rt_9_freeze")
    assert answer.status == "succeeded" and answer.expires_at == EXPIRES


def test_capture_sends_seller_and_buyer_and_never_completes_the_freeze(provider, gw) -> None:  # defect 3
    auth_no = _frozen(provider, gw, "rt_7", user=None)
    assert provider.capture_from_freeze("rt_7_rent", auth_no, USER, 3_000, "rent 6 days").ok
    (pay,) = gw.bizs("alipay.trade.pay")
    assert (pay["seller_id"], pay["buyer_id"], pay["auth_confirm_mode"]) == (gw.seller_id, USER, "NOT_COMPLETE")
    again = provider.capture_from_freeze("rt_7_rent", auth_no, USER, 3_000, "rent 6 days")
    assert again.ok and gw.auths[auth_no]["rest"] == 7_000  # a retry never takes money twice


def test_an_on_time_release_reports_fulfilment_exactly_once(provider, gw) -> None:  # defect 5
    auth_no = _frozen(provider, gw, "rt_6")
    for _ in range(2):  # a retried release is the same request
        assert provider.release("rt_6_release", auth_no, USER, 10_000, fulfilled=True).ok
    assert gw.fulfilled == [auth_no]
    (first, second) = gw.bizs("alipay.fund.auth.order.unfreeze")
    assert json.loads(json.loads(first["extra_param"])["unfreezeBizInfo"]) == {"bizComplete": "true"}


def test_a_defaulted_release_is_never_reported_fulfilled(provider, gw) -> None:
    auth_no = _frozen(provider, gw, "rt_5")
    assert provider.release("rt_5_release", auth_no, USER, 4_000).ok
    assert gw.fulfilled == [] and "extra_param" not in gw.bizs("alipay.fund.auth.order.unfreeze")[0]


def test_a_freeze_whose_answer_was_lost_is_cancelled(provider, gw) -> None:  # defect 6
    result = provider.freeze("rt_4", "rt_4_freeze", USER, 100, "Book", EXPIRES)
    gw.open_freeze(result.provider_params["order_str"], complete=False)  # the user left half-way (INIT)
    assert provider.cancel_freeze("rt_4", "rt_4_freeze").ok
    assert gw.methods()[-2:] == ["alipay.fund.auth.operation.detail.query", "alipay.fund.auth.operation.cancel"]
    assert provider.cancel_freeze("rt_4", "rt_4_freeze").ok  # already closed: nothing more to do
    assert gw.methods().count("alipay.fund.auth.operation.cancel") == 1
    assert provider.cancel_freeze("rt_never", "rt_never_freeze").ok  # never created


def test_a_refund_whose_answer_was_lost_is_settled_by_query(provider, gw) -> None:  # defect 7
    auth_no = _frozen(provider, gw, "rt_3")
    trade_no = provider.capture_from_freeze("rt_3_rent", auth_no, USER, 2_000, "rent").provider_ref
    gw.lost["alipay.trade.refund"] = 1
    with pytest.raises(ProviderError):
        provider.refund("rt_3_refund1", trade_no, USER, 500)
    assert provider.refund("rt_3_refund1", trade_no, USER, 500).ok
    assert gw.methods().count("alipay.trade.refund") == 1  # settled by the query, not sent again
    assert gw.methods()[-1] == "alipay.trade.fastpay.refund.query"
    assert gw.trades["rt_3_rent"]["refunded"] == 500


def test_hyphenated_numbers_are_aliased_never_sent(provider, gw) -> None:  # defect 9
    auth_no = _frozen(provider, gw, "rt_2")
    assert provider.capture_from_freeze("rt_2-ded-1", auth_no, USER, 100, "damage").ok
    assert gw.bizs("alipay.trade.pay")[0]["out_trade_no"] == "rt_2_ded_1"
    assert provider.query("rt_2-ded-1").ok


def test_a_query_that_cannot_answer_never_settles_an_operation_as_failed(provider, gw) -> None:
    provider.freeze("rt_1", "rt_1_freeze", USER, 100, "Book", EXPIRES)
    gw.forced["alipay.fund.auth.operation.detail.query"] = [
        {"code": "40004", "msg": "Business Failed", "sub_code": "SYSTEM_ERROR"}
    ]
    assert provider.query("rt_1_freeze").status == "pending"
    assert provider.query("rt_1_freeze") is None  # the user never opened it: no such authorization


def test_fresh_params_re_sign_the_same_order_with_a_current_timestamp(provider, gw, aws) -> None:
    first = provider.freeze("rt_8", "rt_8_freeze", USER, 100, "Book", EXPIRES).provider_params["order_str"]
    aws.clock.advance(3_600)
    again = provider.fresh_params("freeze", "rt_8")["order_str"]
    old, new = dict(parse_qsl(first)), dict(parse_qsl(again))
    assert old["biz_content"] == new["biz_content"] and old["timestamp"] != new["timestamp"]
    gw.open_freeze(again)  # accepted: signed by the merchant, no violation
    assert provider.fresh_params("freeze", "rt_never") is None
