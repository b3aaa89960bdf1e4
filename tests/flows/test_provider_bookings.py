"""Bookings guaranteed by the real providers' pay-later agreements (Zhima pay-after-use, a Pay Score service
order) against the fake gateways: opened when the booking is made (provider_params in the answer), confirmed
by the user, charged exactly once under it on completion or for a late cancellation's fee; never confirmed by
the start, the booking is cancelled with nothing charged."""
from __future__ import annotations

from chalicelib.providers.wechat import order_no
from tests.flows.test_bookings import HOUR, _book
from tests.flows.test_provider_orders import _wechat_member, _wechat_says
from tests.flows.test_provider_rentals import wechat  # noqa: F401
from tests.helpers import Api


def test_a_wechat_booking_is_completed_once_under_its_pay_score_order(wechat, client, aws) -> None:  # noqa: F811
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = _wechat_member(api, wechat, client, "bw1")
    booking = _book(api, token, 48 * HOUR)
    number = order_no(f"{booking['id']}_pl")
    assert booking["provider_params"]["package"] == f"pkg-{number}"
    assert wechat.orders[number]["risk_fund"]["amount"] == 10_000 and wechat.orders[number]["need_user_confirm"]
    wechat.confirm(number, "bc1")  # USER_CONFIRM lost: the sweep asks
    api.advance(16 * 60)
    api.run_jobs()
    assert "provider_params" not in api.get(f"/v1/bookings/{booking['id']}", token=token)[1]

    api.advance(48 * HOUR)
    assert api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)[0] == 200
    assert _wechat_says(client, wechat.collect(number, "bp1")) == 204
    assert _wechat_says(client, wechat.collect(number, "bp2")) == 204  # a re-send under a new id
    api.advance(16 * 60)
    api.run_jobs()
    done = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert (done["status"], done["charged"]) == ("charged", 10_000)
    assert [(a, b["total_amount"]) for a, b in wechat.orders[number]["actions"]] == [("complete", 10_000)]
