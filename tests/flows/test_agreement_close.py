"""A pay-later order or booking that ends without a charge closes the provider's order (Zhima credit order,
Pay Score service order) after our own state change: once, retried by the charge sweep when the provider
cannot answer, never blocking the member's cancel."""
from __future__ import annotations

from chalicelib.providers.wechat import order_no
from tests.flows.test_provider_orders import ORDER, _wechat_member, _wechat_says
from tests.flows.test_provider_rentals import wechat  # noqa: F401
from tests.helpers import Api


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
