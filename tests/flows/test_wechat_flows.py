"""Whole WeChat Pay Score journeys over HTTP (provider=wechat) against the strict fake (tests/providers/
fake_wechat.py): the user confirms in the mini-program with the params our answers carry, WeChat notifies,
jobs move the clock. Every journey ends with the fake having recorded no rule violation."""

from __future__ import annotations

import pytest

from tests.flows.test_bookings import HOUR, _book, _exposure
from tests.helpers import Api
from tests.providers.fake_wechat import FakeWechat
from tests.rental_helpers import DAY, rental_body

ORDER = {"kind": "pay_later", "scenario": "books", "amount": 9_900, "trial_days": 7}


@pytest.fixture
def wechat(request, monkeypatch: pytest.MonkeyPatch) -> FakeWechat:
    fake = FakeWechat(getattr(request, "param", "public_key"))
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    yield fake
    fake.stop()


@pytest.fixture
def gw(wechat, client, aws) -> FakeWechat:  # type: ignore[no-untyped-def]
    wechat.now = lambda: int(aws.clock.now().timestamp())
    aws.provider("wechat").client.sleep = lambda s: None
    yield wechat
    assert wechat.violations == []


def _member(api: Api, gw: FakeWechat, client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = api.sign_in(name, provider="wechat")
    status, out = api.post("/v1/credit/authorizations", {}, token=token)
    assert status == 201 and out["status"] == "pending"
    assert gw.user_opens_service(out["provider_params"], f"o-{name}") is not None
    assert gw.deliver(client) == [204]
    assert api.get("/v1/me", token=token)[1]["score_band"] == "650-699"
    return token


def _confirm(api: Api, gw: FakeWechat, client, params: dict, name: str, delivered: bool = True) -> None:  # type: ignore[no-untyped-def]
    api.advance(30)
    assert gw.user_confirms(params, f"o-{name}") is not None
    if delivered:
        assert gw.deliver(client) == [204]
    else:
        gw.outbox.clear()  # the notification is lost


def _rental(api: Api, gw: FakeWechat, client, token: str, name: str, **over) -> dict:  # type: ignore[no-untyped-def]
    status, out = api.post("/v1/rentals", rental_body(**over), token=token)
    assert status == 201 and out["status"] == "pending_freeze", out
    _confirm(api, gw, client, out["provider_params"], name)
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    return out


# -- sign-in, consent, withdrawal -------------------------------------------------------------------
def test_closing_pay_score_in_wechat_withdraws_the_members_credit(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "wd1")
    gw.user_closes_service("o-wd1")
    assert gw.deliver(client) == [204]
    me = api.get("/v1/me", token=token)[1]
    assert (me["score_band"], me["tier"]) == (None, "none")


def test_a_bad_login_code_is_a_400_on_code(gw, client) -> None:
    status, out = Api(client).post("/v1/sessions", {"provider": "wechat", "code": "bad"})
    assert status == 400 and out["error"]["field"] == "code"


# -- 先免 rentals ------------------------------------------------------------------------------------
def test_a_rental_returned_on_time_is_completed_once_for_its_rent_and_deductions(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "r1")
    out = _rental(api, gw, client, token, "r1")
    number = f"{out['id']}_freeze"
    order = gw.orders[number]
    assert order["service_id"] == gw.env()["CREDITFIRST_WECHAT_SERVICE_ID_DEPOSIT"] and "openid" not in order["body"]
    status, _ = api.admin("POST", f"/v1/admin/rentals/{out['id']}/deductions", {"amount": 1_000, "reason": "scratch"})
    assert status in (200, 201) and order["actions"] == []  # recorded, taken at completion
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (closed["status"], closed["rent_charged"]) == ("closed", 3_000)  # 6 days begun of 7
    ((action, body),) = order["actions"]
    assert action == "complete" and body["total_amount"] == 4_000 and body["time_range"]["end_time"]
    assert sorted((p["name"], p["amount"]) for p in body["post_payments"]) == [("damage", 1_000), ("rent", 3_000)]
    assert sorted((x["name"], x["amount"]) for x in closed["lines"]) == [("damage", 1_000), ("rent", 3_000)]
    gw.collect(number)
    assert gw.deliver(client) == [204]  # acknowledged; nothing more for the rental to do


def test_a_long_rental_keeps_its_one_service_order_and_is_never_refrozen(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "long1")
    out = _rental(api, gw, client, token, "long1", days=120, daily_rent=100)
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["freeze_expires_at"] is None
    api.advance(100 * DAY)
    api.run_jobs()
    assert list(gw.orders) == [f"{out['id']}_freeze"]  # no second order opened as a "renewal"
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    assert api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (closed["status"], closed["rent_charged"]) == ("closed", 10_100)  # back in day 101 of 120: the days begun


def test_an_overdue_rental_is_completed_for_rent_and_overdue_and_never_as_kept(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "r2")
    out = _rental(api, gw, client, token, "r2", item_value=10_000)
    api.advance(10 * DAY)
    api.run_jobs()
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert closed["status"] == "closed" and closed["outcome"] == "defaulted"
    ((action, body),) = gw.orders[f"{out['id']}_freeze"]["actions"]
    names = {p["name"]: p["amount"] for p in body["post_payments"]}
    assert action == "complete" and set(names) == {"rent", "overdue_fee"}
    assert body["total_amount"] == sum(names.values()) == closed["rent_charged"] + closed["deducted_amount"] <= 10_000


def test_a_confirmation_whose_package_expired_gets_fresh_params_and_a_lost_notice_is_reconciled(
    gw, client, aws
) -> None:
    api = Api(client)
    token = _member(api, gw, client, "r3")
    status, out = api.post("/v1/rentals", rental_body(), token=token)
    api.advance(55 * 60)
    fresh = api.get(f"/v1/rentals/{out['id']}", token=token)[1]["provider_params"]
    assert fresh["extraData"]["package"] != out["provider_params"]["extraData"]["package"]
    _confirm(api, gw, client, fresh, "r3", delivered=False)
    api.advance(16 * 60)
    api.run_jobs()
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"


def test_a_rental_never_confirmed_cancels_its_service_order_with_a_short_reason(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "r4")
    out = api.post("/v1/rentals", rental_body(), token=token)[1]
    api.advance(2 * HOUR)
    api.run_jobs()
    api.run_jobs()
    order = gw.orders[f"{out['id']}_freeze"]
    assert order["state"] == "REVOKED" and len(order["cancel_reason"]) <= 30
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


# -- 先享 pay later ----------------------------------------------------------------------------------
def _order(api: Api, gw: FakeWechat, client, token: str, name: str) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    status, out = api.post("/v1/orders", ORDER, token=token)
    assert status == 201 and out["status"] == "pending_charge", out
    _confirm(api, gw, client, out["provider_params"], name)
    number = next(n for n, o in gw.orders.items() if o["state"] == "DOING" and n.startswith(out["id"]))
    return out, number


def test_a_pay_later_order_is_completed_collected_and_refunded_with_the_refund_notice(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p1")
    out, number = _order(api, gw, client, token, "p1")
    assert gw.orders[number]["service_id"] == gw.env()["CREDITFIRST_WECHAT_SERVICE_ID_PAY_LATER"]
    api.advance(7 * DAY)
    api.run_jobs()
    assert [a for a, _ in gw.orders[number]["actions"]] == ["complete"]
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "pending_charge"
    gw.collect(number)
    assert gw.deliver(client) == [204]
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900)
    api.post(f"/v1/orders/{out['id']}/refund", {"amount": 2_000}, token=token)
    ((number_r, refund),) = gw.refunds.items()
    assert refund["body"]["amount"] == {"refund": 2_000, "total": 9_900, "currency": "CNY"}
    gw.finish_refund(number_r, "SUCCESS")
    assert gw.deliver(client) == [204]
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["refunded"]) == ("partially_refunded", 2_000)


def test_a_refund_whose_notice_is_lost_is_settled_by_the_refund_query(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p2")
    out, number = _order(api, gw, client, token, "p2")
    api.advance(7 * DAY)
    api.run_jobs()
    gw.collect(number)
    gw.deliver(client)
    api.post(f"/v1/orders/{out['id']}/refund", {}, token=token)
    ((number_r, _),) = gw.refunds.items()
    gw.finish_refund(number_r, "SUCCESS")
    gw.outbox.clear()
    api.advance(16 * 60)
    api.run_jobs()
    assert any(c["path"] == f"/v3/refund/domestic/refunds/{number_r}" for c in gw.calls)
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1]["status"] == "refunded"


def test_an_uncollected_charge_is_asked_for_daily_then_past_due_after_seven_days(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p3")
    out, number = _order(api, gw, client, token, "p3")
    api.advance(7 * DAY)
    api.run_jobs()
    for _ in range(8):
        api.advance(DAY)
        api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert order["status"] == "past_due"
    assert 1 <= len(gw.collection_requests) <= 7 and set(gw.collection_requests) == {number}
    assert [a for a, _ in gw.orders[number]["actions"]].count("complete") == 1


def test_a_collection_that_succeeds_later_charges_the_order(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p4")
    out, number = _order(api, gw, client, token, "p4")
    gw.pays_on_request = True
    api.advance(7 * DAY)
    api.run_jobs()
    for _ in range(2):
        api.advance(DAY)
        api.run_jobs()
        gw.deliver(client)
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900) and gw.collection_requests == [number]


def test_cancelling_a_pay_later_order_cancels_its_service_order_once(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p5")
    out, number = _order(api, gw, client, token, "p5")
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200
    order = gw.orders[number]
    assert order["state"] == "REVOKED" and len(order["cancel_reason"]) <= 30
    api.advance(8 * DAY)
    api.run_jobs()
    assert [a for a, _ in order["actions"]] == ["cancel"]


def test_a_failed_close_is_retried_by_the_sweep(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "p6")
    out = api.post("/v1/orders", ORDER, token=token)[1]  # never confirmed: the CREATED order is cancelled too
    gw.down.add("/cancel")
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200
    assert "agreement_closed_at" not in aws.table.get(f"ORDER#{out['id']}", "ORDER")
    gw.down.clear()
    api.advance(16 * 60)
    api.run_jobs()
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]
    assert [o["state"] for o in gw.orders.values()] == ["REVOKED"]


def test_a_booking_is_completed_once_under_its_pay_score_order(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "b1")
    booking = _book(api, token, 48 * HOUR)
    _confirm(api, gw, client, booking["provider_params"], "b1")
    api.advance(49 * HOUR)
    assert api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)[0] == 200
    ((number, order),) = gw.orders.items()
    gw.collect(number)
    assert gw.deliver(client) == [204]
    done = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert (done["status"], done["charged"]) == ("charged", 10_000) and _exposure(api, token) == 0
    assert [(a, b["total_amount"]) for a, b in order["actions"]] == [("complete", 10_000)]


def test_wechat_members_are_refused_installments(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "i1")
    calls = len(gw.calls)
    status, out = api.post(
        "/v1/orders", {"kind": "installment", "scenario": "digital", "amount": 120_000, "installments": 3}, token=token
    )
    assert status == 400 and out["error"]["code"] == "installments_not_offered"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0 and len(gw.calls) == calls


# -- platform certificate rotation ------------------------------------------------------------------------
@pytest.mark.parametrize("wechat", ["certificate"], indirect=True)
def test_a_certificate_rotation_is_followed_after_the_daily_refresh(gw, client, aws) -> None:
    api = Api(client)
    token = _member(api, gw, client, "c1")
    new = gw.rotate()
    api.run_jobs()  # the daily key refresh stores the new certificate for every container
    assert new["serial"] in aws.table.get("PROV#wechat#certs", "CERTS")["certs"]
    aws.providers.clear()  # a fresh container
    out = _rental(api, gw, client, token, "c1")  # its USER_CONFIRM is signed with the new certificate
    assert gw.calls[-1]["headers"]["wechatpay-serial"] == new["serial"] and out["id"]


def test_an_order_a_coupon_pays_in_full_opens_no_service_order(gw, client, aws) -> None:
    """Nothing is paid later: no Pay Score order to confirm, and the charge of 0 asks WeChat nothing."""
    api = Api(client)
    token = _member(api, gw, client, "p9")  # 650-699: a 1,000 fen first-order coupon
    (coupon,) = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "first_order"]
    calls = len(gw.calls)
    status, out = api.post("/v1/orders", {**ORDER, "amount": 800, "coupon_id": coupon["id"]}, token=token)
    assert status == 201 and (out["status"], out["payable"]) == ("pending_charge", 0), out
    assert out.get("provider_params") is None
    assert api.post(f"/v1/orders/{out['id']}/confirm", token=token)[0] == 200
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 0), order
    assert len(gw.calls) == calls and not [n for n in gw.orders if n.startswith(out["id"])]
