"""The strict fake refuses what the real gateway refuses, with Alipay's error shapes, and records it: in
particular every request shape the old adapter sent (issue 13's defects) is refused here."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.providers.fake_alipay import FakeAlipay, rsa2_sign, sign_content
from tests.providers.fakes import new_key


@pytest.fixture(scope="module")
def gw() -> FakeAlipay:
    fake = FakeAlipay()
    yield fake
    fake.stop()


@pytest.fixture
def fresh(gw: FakeAlipay) -> FakeAlipay:
    gw.init_state()
    gw.violations.clear()
    return gw


def send(gw: FakeAlipay, method: str, biz: dict | None = None, key=None, **top: str) -> dict:  # type: ignore[no-untyped-def]
    """A request signed like the SDK signs one (AlipaySignature.getSignContent), answered by the fake."""
    params = {
        "app_id": gw.app_id,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-11-23 18:00:00",
        "version": "1.0",
        **top,
    }
    if biz is not None:
        params["biz_content"] = json.dumps(biz, separators=(",", ":"))
    params["sign"] = rsa2_sign(key or gw.merchant_key, sign_content(params))
    status, _, body = gw.answer("POST", "/gateway.do", {}, urlencode(params).encode())
    assert status == 200
    out = json.loads(body)
    return out.get(method.replace(".", "_") + "_response") or out["error_response"]


def test_the_old_admission_request_is_refused(fresh) -> None:  # defect 1: admit_score, hyphenated transaction_id
    node = send(
        fresh,
        "zhima.credit.score.brief.get",
        {
            "transaction_id": "auth-m_1-1700000000-650",
            "product_code": "w1010100000000002733",
            "cert_type": "ALIPAY_USER_ID",
            "cert_no": "2088000000000001",
            "admit_score": 650,
        },
    )
    assert (node["code"], node["sub_code"]) == ("40002", "isv.invalid-parameter")
    assert any("unknown field admit_score" in v for v in fresh.violations)
    assert any("missing admittance_score" in v for v in fresh.violations)
    assert any("bad transaction_id" in v for v in fresh.violations)


def test_an_open_id_in_cert_no_or_buyer_id_is_refused(fresh) -> None:  # defect 2
    fresh.users["c"] = {"open_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY"}
    node = send(
        fresh,
        "zhima.credit.score.brief.get",
        {
            "transaction_id": "t1",
            "product_code": "w1010100000000002733",
            "cert_type": "ALIPAY_USER_ID",
            "cert_no": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY",
            "admittance_score": 650,
        },
    )
    assert node["code"] == "40002"
    node = send(
        fresh,
        "alipay.trade.create",
        {
            "out_trade_no": "t2",
            "total_amount": "1.00",
            "subject": "x",
            "buyer_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY",
        },
    )
    assert node["sub_code"] == "ACQ.INVALID_PARAMETER" and len(fresh.violations) >= 2


def test_a_pre_auth_capture_without_seller_id_is_refused(fresh) -> None:  # defect 3
    node = send(
        fresh,
        "alipay.trade.pay",
        {
            "out_trade_no": "rt_1_rent",
            "total_amount": "30.00",
            "subject": "rent",
            "product_code": "PREAUTH_PAY",
            "auth_no": "2026AUTH00000000",
            "auth_confirm_mode": "NOT_COMPLETE",
            "buyer_id": "2088000000000001",
        },
    )
    assert node["sub_code"] == "ACQ.INVALID_PARAMETER" and "seller_id" in fresh.violations[-1]


def test_creditbizorder_cancel_does_not_exist(fresh) -> None:  # defect 4
    node = send(fresh, "zhima.credit.payafteruse.creditbizorder.cancel", {"out_order_no": "ord_1_pl"})
    assert (node["code"], node["msg"], node["sub_code"]) == ("40002", "Invalid Arguments", "isv.invalid-method")
    assert fresh.violations == [
        "zhima.credit.payafteruse.creditbizorder.cancel: unknown method zhima.credit.payafteruse.creditbizorder.cancel"
    ]


def test_bizcomplete_must_be_a_map_of_strings_and_sent_once(fresh) -> None:  # defect 5
    fresh.auths["A1"] = {
        "out_order_no": "rt_1",
        "freeze_request": "rt_1_freeze",
        "amount": 1000,
        "rest": 1000,
        "status": "SUCCESS",
        "ops": {},
        "payer": None,
    }
    nested = json.dumps({"unfreezeBizInfo": {"bizComplete": "true"}})
    assert send(
        fresh,
        "alipay.fund.auth.order.unfreeze",
        {"auth_no": "A1", "out_request_no": "r1", "amount": "1.00", "remark": "x", "extra_param": nested},
    )
    assert fresh.fulfilled == [] and "must be a string" in fresh.violations[-1]
    right = json.dumps({"unfreezeBizInfo": json.dumps({"bizComplete": "true"})})
    send(
        fresh,
        "alipay.fund.auth.order.unfreeze",
        {"auth_no": "A1", "out_request_no": "r2", "amount": "1.00", "remark": "x", "extra_param": right},
    )
    send(
        fresh,
        "alipay.fund.auth.order.unfreeze",
        {"auth_no": "A1", "out_request_no": "r3", "amount": "1.00", "remark": "x", "extra_param": right},
    )
    assert fresh.fulfilled == ["A1", "A1"] and "bizComplete sent twice" in fresh.violations[-1]


def test_certificate_serial_numbers_must_match_in_cert_mode() -> None:  # defect 8
    fake = FakeAlipay(cert_mode=True)
    try:
        node = send(fake, "alipay.trade.query", {"out_trade_no": "x"})  # a key-mode request: no SNs
        assert (node["code"], node["sub_code"]) == ("40002", "isv.invalid-parameter")
        node = send(
            fake,
            "alipay.trade.query",
            {"out_trade_no": "x"},
            app_cert_sn=fake.certs.app_cert_sn,
            alipay_root_cert_sn=fake.certs.alipay_root_cert_sn,
        )
        assert node["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # accepted: the answer is the business one
        assert len(fake.violations) == 1
    finally:
        fake.stop()


def test_hyphenated_request_numbers_are_refused(fresh) -> None:  # defect 9
    node = send(
        fresh,
        "alipay.trade.refund",
        {"trade_no": "2026000000000001", "refund_amount": "1.00", "out_request_no": "ord_1-refund-1"},
    )
    assert node["sub_code"] == "ACQ.INVALID_PARAMETER" and "bad out_request_no" in fresh.violations[-1]


def test_bad_signatures_and_order_strings_sent_to_the_gateway_are_refused(fresh) -> None:
    node = send(fresh, "alipay.trade.query", {"out_trade_no": "x"}, key=new_key())
    assert (node["code"], node["sub_code"]) == ("40002", "isv.invalid-signature")
    node = send(fresh, "alipay.fund.auth.order.app.freeze", {"out_order_no": "x"})
    assert node["sub_code"] == "isv.invalid-method"


def test_failure_injection_down_lost_forced(fresh) -> None:
    fresh.down.add("alipay.trade.query")
    params = {"method": "alipay.trade.query"}
    assert fresh.answer("POST", "/", {}, urlencode(params).encode())[0] == 503
    fresh.down.clear()
    fresh.forced["alipay.trade.query"] = [
        {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
    ]
    assert send(fresh, "alipay.trade.query", {"out_trade_no": "x"})["code"] == "20000"
    assert send(fresh, "alipay.trade.query", {"out_trade_no": "x"})["sub_code"] == "ACQ.TRADE_NOT_EXIST"
