"""Installment orders through the real providers' fake gateways: on Alipay a Huabei installment trade
(alipay.trade.create, hb_fq_num, hb_fq_seller_percent=100) the user pays in the mini-program from the order's
provider_params, recorded by the trade notification once (or by the reconciliation query when it is lost),
cancelled when the trade closes unpaid; on WeChat Pay refused at creation (no Huabei)."""
from __future__ import annotations

import json

from tests.flows.test_provider_orders import _alipay_says, _methods
from tests.flows.test_provider_rentals import _alipay_member, alipay  # noqa: F401
from tests.helpers import Api

ORDER = {"kind": "installment", "scenario": "books", "amount": 120_001, "installments": 6}


def _trade(gw, out_trade_no: str) -> dict:  # type: ignore[no-untyped-def]
    (call,) = [c for c in gw.calls if c["method"] == "alipay.trade.create"]
    biz = json.loads(call["biz_content"])
    assert biz["out_trade_no"] == out_trade_no
    return biz


def test_an_alipay_installment_order_is_a_huabei_trade_the_user_pays(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000951", 720)
    status, out = api.post("/v1/orders", ORDER, token=token)
    assert status == 201 and (out["status"], out["payable"]) == ("pending_charge", 120_001)
    biz = _trade(alipay, f"{out['id']}_charge1")
    assert biz["extend_params"] == {"hb_fq_num": "6", "hb_fq_seller_percent": "100"}
    assert (biz["total_amount"], biz["buyer_id"], biz["product_code"]) == ("1200.01", "2088000000000951", "JSAPI_PAY")
    trade_no = out["provider_params"]["trade_no"]
    assert trade_no == alipay.trades[f"{out['id']}_charge1"]["trade_no"]
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["provider_params"] == {"trade_no": trade_no}
    assert api.get("/v1/me", token=token)[1]["exposure"] == 120_001

    api.run_jobs()  # the sweep never charges an in-app installment itself
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "pending_charge"

    paid = alipay.pay_trade(trade_no)
    for _ in range(2):  # Alipay re-sends: acknowledged both times, recorded once
        assert _alipay_says(client, paid) == b"success"
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"], order["charge_attempts"]) == ("charged", 120_001, 1)
    assert "provider_params" not in order
    assert (order["plan"]["installments"], order["plan"]["first_payment"], order["plan"]["per_period"]) == \
        (6, 20_001, 20_000)
    item = aws.table.get(f"ORDER#{out['id']}", "ORDER")
    assert item["charge_ref"] == trade_no and item["provider_terms"]["hb_fq_seller_percent"] == "100"
    api.advance(16 * 60)
    api.run_jobs()
    assert _methods(alipay).count("alipay.trade.create") == 1 and "alipay.trade.pay" not in _methods(alipay)
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["charged"] == 120_001

    status, refunded = api.post(f"/v1/orders/{out['id']}/refund", {"amount": 1}, token=token)
    assert status == 200 and (refunded["status"], refunded["refunded"]) == ("partially_refunded", 1)
    (refund,) = alipay.refunds.values()
    assert (refund["trade_no"], refund["refund_amount"]) == (trade_no, "0.01")


def test_a_lost_installment_payment_notification_is_settled_by_reconciliation(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000952", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    api.advance(16 * 60)
    api.run_jobs()  # asked: still waiting for the buyer
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "pending_charge"
    alipay.pay_trade(out["provider_params"]["trade_no"])  # paid; the notification never arrives
    api.advance(16 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 120_001)
    assert _methods(alipay).count("alipay.trade.query") == 2 and "alipay.trade.pay" not in _methods(alipay)
    api.advance(16 * 60)
    api.run_jobs()
    assert _methods(alipay).count("alipay.trade.query") == 2  # settled: nothing more to ask


def test_an_installment_trade_closed_unpaid_cancels_the_order(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000953", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    alipay.trades[f"{out['id']}_charge1"]["status"] = "TRADE_CLOSED"  # the pay window passed
    api.advance(31 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"], order["reason"]) == ("cancelled", 0, "installment_not_paid")
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
