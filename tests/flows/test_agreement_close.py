"""A pay-later order or booking that ends without a charge closes the provider's order (Zhima credit order,
Pay Score service order) after our own state change: once, retried by the charge sweep when the provider
cannot answer, never blocking the member's cancel."""
from __future__ import annotations

import json

from chalicelib.providers.wechat import order_no
from tests.flows.test_bookings import HOUR, _book
from tests.flows.test_provider_orders import ORDER, _alipay_says, _methods, _wechat_member, _wechat_says
from tests.flows.test_provider_rentals import _alipay_member, alipay, wechat  # noqa: F401
from tests.helpers import Api

CANCEL = "zhima.credit.payafteruse.creditbizorder.cancel"


def _alipay_order(api: Api, alipay, client, user: str) -> tuple[str, dict]:  # noqa: F811  # type: ignore[no-untyped-def]
    token = _alipay_member(api, alipay, user, 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    assert _alipay_says(client, alipay.open_credit_order(out["provider_params"]["order_str"])) == b"success"
    return token, out


def test_cancelling_an_alipay_pay_later_order_closes_its_credit_order_once(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token, out = _alipay_order(api, alipay, client, "2088000000000981")
    status, cancelled = api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)
    assert status == 200 and cancelled["status"] == "cancelled"
    (closed,) = alipay.closes
    assert closed["out_order_no"] == f"{out['id']}_pl" and closed["credit_biz_order_id"] == "ZMCB0000000000"
    assert alipay.credit_orders[f"{out['id']}_pl"]["status"] == "TRADE_CLOSED"
    item = aws.table.get(f"ORDER#{out['id']}", "ORDER")
    assert item["agreement_close"] == "cancelled" and item["agreement_closed_at"] and "due_at" not in item

    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 409  # a repeat closes nothing
    api.advance(8 * 86_400)
    api.run_jobs()
    assert _methods(alipay).count(CANCEL) == 1 and "alipay.trade.pay" not in _methods(alipay)


def test_a_failed_alipay_close_is_retried_by_the_sweep_and_recorded_once(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token, out = _alipay_order(api, alipay, client, "2088000000000982")
    alipay.down.add(CANCEL)
    status, cancelled = api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)
    assert status == 200 and cancelled["status"] == "cancelled"  # the member's cancel does not wait on Alipay
    item = aws.table.get(f"ORDER#{out['id']}", "ORDER")
    assert item["status"] == "cancelled" and "agreement_closed_at" not in item and item["due_at"]
    assert not alipay.closes

    api.advance(16 * 60)
    api.run_jobs()  # still down: the timer moves on
    assert not alipay.closes and "agreement_closed_at" not in aws.table.get(f"ORDER#{out['id']}", "ORDER")
    alipay.down.clear()
    api.advance(16 * 60)
    api.run_jobs()
    assert len(alipay.closes) == 1
    item = aws.table.get(f"ORDER#{out['id']}", "ORDER")
    assert item["agreement_closed_at"] and "due_at" not in item and "due_pk" not in item
    api.advance(16 * 60)
    api.run_jobs()
    assert len(alipay.closes) == 1 and "alipay.trade.pay" not in _methods(alipay)
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["charged"] == 0


def test_an_already_closed_credit_order_counts_as_closed(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token, out = _alipay_order(api, alipay, client, "2088000000000983")
    alipay.credit_orders[f"{out['id']}_pl"]["status"] = "TRADE_CLOSED"  # closed at Alipay already
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200
    assert not alipay.closes and _methods(alipay).count(CANCEL) == 1
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]


def test_cancelling_a_wechat_pay_later_order_cancels_its_service_order_once(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "ac1")
    out = api.post("/v1/orders", ORDER, token=token)[1]
    number = order_no(f"{out['id']}_pl")
    assert _wechat_says(client, wechat.confirm(number, "ac1-confirm")) == 204
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200
    assert wechat.closes == [number] and wechat.orders[number]["state"] == "REVOKED"
    ((action, body),) = wechat.orders[number]["actions"]
    assert action == "cancel" and body["service_id"] == "svc1" and body["appid"] == "wxtestapp" and body["reason"]
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 409
    api.advance(8 * 86_400)
    api.run_jobs()
    assert wechat.closes == [number] and "actions" in wechat.orders[number]
    assert [a for a, _ in wechat.orders[number]["actions"]] == ["cancel"]


def test_a_failed_wechat_close_is_retried_by_the_sweep(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "ac2")
    out = api.post("/v1/orders", ORDER, token=token)[1]  # never confirmed: the CREATED order is cancelled too
    number = order_no(f"{out['id']}_pl")
    wechat.down.add("/cancel")
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200
    assert not wechat.closes and "agreement_closed_at" not in aws.table.get(f"ORDER#{out['id']}", "ORDER")
    wechat.down.clear()
    api.advance(16 * 60)
    api.run_jobs()
    assert wechat.closes == [number] and aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]
    api.advance(16 * 60)
    api.run_jobs()
    assert wechat.closes == [number]


def test_an_order_never_confirmed_by_charge_time_closes_its_service_order(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "ac3")
    out = api.post("/v1/orders", ORDER, token=token)[1]
    number = order_no(f"{out['id']}_pl")
    api.advance(7 * 86_400)
    api.run_jobs()
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "cancelled"
    assert wechat.closes == [number]


def test_a_free_booking_cancellation_closes_the_agreement(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000984", 720)
    booking = _book(api, token, 72 * HOUR)  # early enough: no fee
    assert _alipay_says(client, alipay.open_credit_order(booking["provider_params"]["order_str"])) == b"success"
    status, out = api.post(f"/v1/bookings/{booking['id']}/cancel", {}, token=token)
    assert status == 200 and out["cancellation_fee"] == 0
    (closed,) = alipay.closes
    assert closed["out_order_no"] == f"{booking['id']}_pl"
    assert json.loads(next(c for c in alipay.calls if c["method"] == CANCEL)["biz_content"])["remark"] == "cancelled"
    assert aws.table.get(f"BOOKING#{booking['id']}", "BOOKING")["agreement_closed_at"]
