"""Installment orders through the real providers' fake gateways: on Alipay a Huabei installment trade
(alipay.trade.create, hb_fq_num, hb_fq_seller_percent=100) the user pays in the mini-program from the order's
provider_params, recorded by the trade notification once (or by the reconciliation query when it is lost),
cancelled when the trade closes unpaid; on WeChat Pay refused at creation (no Huabei)."""
from __future__ import annotations

from tests.flows.test_provider_orders import _wechat_member
from tests.flows.test_provider_rentals import wechat  # noqa: F401
from tests.helpers import Api

ORDER = {"kind": "installment", "scenario": "books", "amount": 120_001, "installments": 6}


def test_wechat_members_are_refused_installments_and_told_so_by_the_quote(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "wi1")
    status, quote = api.get("/v1/installments/quote?amount=120001", token=token)
    assert status == 200 and [p["installments"] for p in quote["plans"]] == [3, 6, 12]
    assert all(not p["eligible"] and p["reason"] == "installments_not_offered" for p in quote["plans"])
    calls = len(wechat.calls)
    status, err = api.post("/v1/orders", ORDER, token=token)
    assert (status, err["error"]["code"], err["error"]["field"]) == (400, "installments_not_offered", "kind")
    assert api.get("/v1/orders", token=token)[1]["items"] == []
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0 and len(wechat.calls) == calls
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 9_900}, token=token)
    assert status == 201  # pay later stays open to them
