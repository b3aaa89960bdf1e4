"""A pay-later order or booking that ends without a charge closes the provider's order (Zhima credit order,
Pay Score service order) after our own state change: once, retried by the charge sweep when the provider
cannot answer, never blocking the member's cancel."""
from __future__ import annotations

import json

from tests.flows.test_bookings import HOUR, _book
from tests.flows.test_provider_orders import ORDER, _alipay_says, _methods
from tests.flows.test_provider_rentals import _alipay_member, alipay  # noqa: F401
from tests.helpers import Api

CANCEL = "zhima.credit.payafteruse.creditbizorder.cancel"


def _alipay_order(api: Api, alipay, client, user: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
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
