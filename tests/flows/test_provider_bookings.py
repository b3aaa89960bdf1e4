"""Bookings guaranteed by the real providers' pay-later agreements (Zhima pay-after-use, a Pay Score service
order) against the fake gateways: opened when the booking is made (provider_params in the answer), confirmed
by the user, charged exactly once under it on completion or for a late cancellation's fee; never confirmed by
the start, the booking is cancelled with nothing charged."""
from __future__ import annotations

import json

from tests.flows.test_bookings import HOUR, _book, _exposure
from tests.flows.test_provider_orders import _alipay_says, _methods
from tests.flows.test_provider_rentals import _alipay_member, alipay  # noqa: F401
from tests.helpers import Api


def test_an_alipay_booking_is_charged_once_under_its_confirmed_agreement(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000961", 720)
    booking = _book(api, token, 48 * HOUR)
    assert booking["status"] == "confirmed" and booking["provider_params"]["order_str"]
    confirmed = alipay.open_credit_order(booking["provider_params"]["order_str"])
    for _ in range(2):
        assert _alipay_says(client, confirmed) == b"success"
    assert "provider_params" not in api.get(f"/v1/bookings/{booking['id']}", token=token)[1]

    api.advance(49 * HOUR)
    api.run_jobs()  # nothing is owed before completion: no charge
    assert "alipay.trade.pay" not in _methods(alipay)
    status, out = api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)
    assert status == 200 and out["status"] == "pending_charge"  # Alipay withholds asynchronously
    (pay,) = [json.loads(c["biz_content"]) for c in alipay.calls if c["method"] == "alipay.trade.pay"]
    assert (pay["auth_code"], pay["total_amount"], pay["out_trade_no"]) == \
        ("ZMCB0000000000", "100.00", f"{booking['id']}_charge1")
    paid = alipay.settle_trade(f"{booking['id']}_charge1")
    for _ in range(2):
        assert _alipay_says(client, paid) == b"success"
    api.advance(16 * 60)
    api.run_jobs()
    done = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert (done["status"], done["charged"]) == ("charged", 10_000)
    assert _methods(alipay).count("alipay.trade.pay") == 1 and _exposure(api, token) == 0


def test_a_late_cancellation_fee_is_charged_under_the_agreement(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000962", 660)  # normal: the late fee applies
    booking = _book(api, token, 10 * HOUR)
    assert _alipay_says(client, alipay.open_credit_order(booking["provider_params"]["order_str"])) == b"success"
    status, out = api.post(f"/v1/bookings/{booking['id']}/cancel", {}, token=token)
    assert status == 200 and (out["status"], out["cancellation_fee"]) == ("cancelled", 2_000)
    api.run_jobs()  # the fee goes to the charge worker
    assert _alipay_says(client, alipay.settle_trade(f"{booking['id']}_charge1")) == b"success"
    done = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert done["fee_charged"] and done["charged"] == 2_000
    (pay,) = [json.loads(c["biz_content"]) for c in alipay.calls if c["method"] == "alipay.trade.pay"]
    assert (pay["auth_code"], pay["total_amount"]) == ("ZMCB0000000000", "20.00")


def test_a_booking_never_confirmed_by_its_start_is_cancelled_without_a_charge(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000963", 660)
    booking = _book(api, token, 2 * HOUR)
    unconfirmed = _book(api, token, 10 * HOUR)
    status, out = api.post(f"/v1/bookings/{unconfirmed['id']}/cancel", {}, token=token)
    assert (status, out["cancellation_fee"]) == (200, 0)  # never guaranteed: nothing to charge under
    api.advance(2 * HOUR + 60)
    api.run_jobs()
    gone = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert (gone["status"], gone["charged"], gone["reason"]) == ("cancelled", 0, "pay_later_not_confirmed")
    assert api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)[0] == 409
    assert _exposure(api, token) == 0 and "alipay.trade.pay" not in _methods(alipay)
