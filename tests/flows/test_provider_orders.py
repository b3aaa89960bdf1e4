"""Whole pay-later orders through provider=alipay (Zhima pay-after-use) and provider=wechat (Pay Score)
against the local fake gateways: the user confirms the provider's order from the order's provider_params,
the charge is taken at the end of the trial by the sweep and worker, settled by notification (or by the
reconciliation query when the notification is lost), and refunded through the provider."""
from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.providers.wechat import order_no
from tests.flows.test_provider_rentals import FORM, JSON, _alipay_member, alipay, wechat  # noqa: F401
from tests.helpers import Api

DAY = 86_400
ORDER = {"kind": "pay_later", "scenario": "books", "amount": 9_900, "trial_days": 7}


def _alipay_says(client, form: dict) -> bytes:  # type: ignore[no-untyped-def]
    return client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode()).body


def _wechat_says(client, signed: tuple[dict, bytes]) -> int:  # type: ignore[no-untyped-def]
    headers, body = signed
    return client.http.post("/v1/callbacks/wechat", headers={**JSON, **headers}, body=body).status_code


def _methods(gw) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["method"] for c in gw.calls]


def test_an_alipay_pay_later_order_from_confirmation_to_refund(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000901", 720)
    status, out = api.post("/v1/orders", ORDER, token=token)
    assert status == 201 and out["status"] == "pending_charge"
    confirmed = alipay.open_credit_order(out["provider_params"]["order_str"])
    for _ in range(2):  # Alipay re-sends: acknowledged both times, applied once
        assert _alipay_says(client, confirmed) == b"success"
    assert "provider_params" not in api.get(f"/v1/orders/{out['id']}", token=token)[1]

    api.advance(7 * DAY)
    api.run_jobs()  # the charge sweep: Alipay withholds asynchronously, so the order waits for its answer
    waiting = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (waiting["status"], waiting["charge_attempts"], waiting["charged"]) == ("pending_charge", 1, 0)
    pay = next(c for c in alipay.calls if c["method"] == "alipay.trade.pay")
    assert '"auth_code":"ZMCB0000000000"' in pay["biz_content"] and '"total_amount":"99.00"' in pay["biz_content"]

    paid = alipay.settle_trade(f"{out['id']}_charge1")
    for _ in range(2):
        assert _alipay_says(client, paid) == b"success"
    charged = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (charged["status"], charged["charged"]) == ("charged", 9_900)
    api.advance(16 * 60)
    api.run_jobs()  # nothing left to resume: no second withholding

    status, refunded = api.post(f"/v1/orders/{out['id']}/refund", {"amount": 2_000}, token=token)
    assert status == 200 and (refunded["status"], refunded["refunded"]) == ("partially_refunded", 2_000)
    assert _methods(alipay).count("alipay.trade.pay") == 1 and _methods(alipay).count("alipay.trade.refund") == 1
    assert list(alipay.refunds.values())[0]["refund_amount"] == "20.00"


def test_lost_alipay_notifications_are_settled_by_reconciliation(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000902", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    alipay.open_credit_order(out["provider_params"]["order_str"])  # the message never arrives
    api.advance(16 * 60)
    api.run_jobs()
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_state"] == "confirmed"
    assert "zhima.credit.payafteruse.creditbizorder.query" in _methods(alipay)

    api.advance(7 * DAY)
    api.run_jobs()
    alipay.settle_trade(f"{out['id']}_charge1")  # paid at Alipay; the trade notification is lost too
    api.advance(16 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900)
    assert _methods(alipay).count("alipay.trade.pay") == 1 and "alipay.trade.query" in _methods(alipay)


def test_an_order_the_user_never_confirms_is_cancelled_at_charge_time(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000903", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    assert api.post(f"/v1/orders/{out['id']}/confirm", {}, token=token)[0] == 409  # not confirmed yet
    api.advance(7 * DAY)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("cancelled", 0)
    assert "alipay.trade.pay" not in _methods(alipay)
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def _wechat_member(api: Api, gw, client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = api.sign_in(name, provider="wechat")
    assert api.post("/v1/credit/authorizations", {}, token=token)[1]["status"] == "pending"
    code = gw.calls[-1]["body"]["authorization_code"]
    opened = gw.notification("PAYSCORE.USER_OPEN_SERVICE", {"authorization_code": code, "openid": f"o-{name}"},
                             f"open-{name}")
    assert _wechat_says(client, opened) == 204
    return token


def test_a_wechat_pay_score_order_from_confirmation_to_refund(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "po1")
    status, out = api.post("/v1/orders", ORDER, token=token)
    number = order_no(f"{out['id']}_pl")
    assert status == 201 and out["provider_params"]["package"] == f"pkg-{number}"
    assert wechat.orders[number]["risk_fund"]["amount"] == 9_900 and wechat.orders[number]["need_user_confirm"]
    confirmed = wechat.confirm(number, "confirm-1")
    for _ in range(2):
        assert _wechat_says(client, confirmed) == 204

    api.advance(7 * DAY)
    api.run_jobs()  # complete with the amount owed; Pay Score collects it from the user afterwards
    assert [(a, b["total_amount"]) for a, b in wechat.orders[number]["actions"]] == [("complete", 9_900)]
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "pending_charge"
    paid = wechat.collect(number, "paid-1")
    assert _wechat_says(client, paid) == 204
    assert _wechat_says(client, wechat.notification("PAYSCORE.USER_PAID", {  # a re-send under a new id
        "out_order_no": number, "total_amount": 9_900, "collection": wechat.orders[number]["collection"]},
        "paid-2")) == 204
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900)
    api.advance(16 * 60)
    api.run_jobs()
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["charged"] == 9_900

    status, refunded = api.post(f"/v1/orders/{out['id']}/refund", {}, token=token)
    assert status == 200 and (refunded["status"], refunded["refunded"]) == ("refunded", 9_900)
    (refund,) = wechat.refunds.values()
    assert refund["amount"] == {"refund": 9_900, "total": 9_900, "currency": "CNY"}
    assert refund["out_refund_no"] == f"{out['id']}_rfd1"
    assert refund["transaction_id"] == wechat.orders[number]["collection"]["details"][0]["transaction_id"]
    assert sum(1 for a, _ in wechat.orders[number]["actions"] if a == "complete") == 1


def test_a_lost_user_paid_notification_is_settled_by_reconciliation(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "po2")
    out = api.post("/v1/orders", ORDER, token=token)[1]
    number = order_no(f"{out['id']}_pl")
    wechat.confirm(number, "c2")  # USER_CONFIRM lost
    api.advance(7 * DAY)
    api.run_jobs()  # the agreement is found confirmed by query, then the order completed
    wechat.collect(number, "p2")  # USER_PAID lost
    api.advance(16 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900)


def _rental_params(api: Api, token: str) -> tuple[dict, dict]:
    from tests.rental_helpers import rental_body

    status, out = api.post("/v1/rentals", rental_body(scenario="books"), token=token)
    assert status == 201 and out["status"] == "pending_freeze"
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["provider_params"] == out["provider_params"]
    return out, out["provider_params"]


def test_an_alipay_rental_answer_carries_the_freeze_order_string(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000904", 720)
    out, params = _rental_params(api, token)
    assert _alipay_says(client, alipay.open_freeze(params["order_str"])) == b"success"
    active = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert active["status"] == "active" and "provider_params" not in active


def test_a_wechat_rental_answer_carries_the_pay_score_package(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "pr1")
    out, params = _rental_params(api, token)
    assert params["package"] == f"pkg-{out['id']}_freeze" and params["businessType"] == "wxpayScoreUse"
    assert _wechat_says(client, wechat.confirm(f"{out['id']}_freeze", "rc1")) == 204
    active = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert active["status"] == "active" and "provider_params" not in active
