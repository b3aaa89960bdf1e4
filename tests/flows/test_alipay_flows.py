"""Whole Alipay journeys over HTTP (provider=alipay) against the strict fake gateway, in key mode and in
certificate mode: sign-in (user_id and open_id apps), credit, deposit-free rentals returned on time (bizComplete
once) or overdue (never fulfilled), pay later charged or cancelled (creditbizorder.finish, is_fulfilled false),
bookings, installments, refunds, and lost answers. Every journey ends with the fake recording no violation."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest

from tests.flows.test_bookings import HOUR, _book, _exposure
from tests.helpers import Api
from tests.providers.fake_alipay import FakeAlipay
from tests.rental_helpers import DAY, rental_body

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
ORDER = {"kind": "pay_later", "scenario": "books", "amount": 9_900, "trial_days": 7}
INSTALLMENTS = {"kind": "installment", "scenario": "books", "amount": 120_001, "installments": 6}
OPEN_ID = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWY"


@pytest.fixture(params=["key", "cert"])
def alipay(request, monkeypatch: pytest.MonkeyPatch) -> FakeAlipay:  # type: ignore[no-untyped-def]
    fake = FakeAlipay(cert_mode=request.param == "cert")
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    yield fake
    fake.stop()
    assert fake.violations == []


def says(client, form: dict | None) -> bytes:  # type: ignore[no-untyped-def]
    return client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode()).body


def member(api: Api, gw: FakeAlipay, code: str, score: int, open_id: str | None = None) -> str:
    """Signs in with a login code (user_id app, or open_id app when open_id is given) and authorizes credit."""
    ident = {"open_id": open_id} if open_id else {"user_id": code}
    gw.users[f"code-{code}"], gw.scores[open_id or code] = ident, score
    token = api.sign_in(f"code-{code}", provider="alipay")
    assert api.post("/v1/credit/authorizations", {}, token=token)[1]["status"] == "granted"
    return token


def order_string(api: Api, token: str, path: str) -> str:
    return api.get(path, token=token)[1]["provider_params"]["order_str"]


def biz_of(order_str: str) -> dict:
    import json

    return json.loads(dict(parse_qsl(order_str))["biz_content"])


def active_rental(api: Api, gw: FakeAlipay, client, token: str, code: str) -> dict:  # type: ignore[no-untyped-def]
    status, out = api.post("/v1/rentals", rental_body(), token=token)
    assert status == 201 and out["status"] == "pending_freeze"
    form = gw.open_freeze(order_string(api, token, f"/v1/rentals/{out['id']}"), user=f"code-{code}")
    for _ in range(2):  # Alipay retries: acknowledged both times, applied once
        assert says(client, form) == b"success"
    rental = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert rental["status"] == "active"
    return {**rental, "auth_no": form["auth_no"]}


# -- sign-in and credit -----------------------------------------------------------------------
def test_sign_in_and_credit_for_a_user_id_app(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088111122223333", 733)
    me = api.get("/v1/me", token=token)[1]
    assert (me["score_band"], me["tier"]) == ("700-749", "silver")
    asked = alipay.bizs("zhima.credit.score.brief.get")
    assert 1 <= len(asked) <= 3 and all(b["cert_no"] == "2088111122223333" for b in asked)
    assert api.post("/v1/credit/authorizations", {}, token=token)[0] == 201
    assert len(alipay.bizs("zhima.credit.score.brief.get")) == len(asked)  # cached for the snapshot's life


def test_sign_in_and_a_rental_for_an_open_id_app(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "oid1", 760, open_id=OPEN_ID)
    assert api.get("/v1/me", token=token)[1]["score_band"] == "750-799"
    assert all(b.get("open_id") == OPEN_ID and "cert_no" not in b for b in alipay.bizs("zhima.credit.score.brief.get"))
    rental = active_rental(api, alipay, client, token, "oid1")
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    (pay,) = alipay.bizs("alipay.trade.pay")
    assert pay["buyer_open_id"] == OPEN_ID and "buyer_id" not in pay and pay["seller_id"] == alipay.seller_id


def test_a_bad_login_code_is_not_a_session(alipay, client) -> None:
    status, out = Api(client).post("/v1/sessions", {"provider": "alipay", "code": "nope"})
    assert status == 400 and out["error"]["field"] == "code"


# -- deposit-free rentals -----------------------------------------------------------------------
def test_a_rental_returned_on_time_is_reported_fulfilled_once(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000777", 720)
    rental = active_rental(api, alipay, client, token, "2088000000000777")
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    api.advance(16 * 60)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    # back early, in the 6th day of 7: rent for the 6 days begun
    assert (closed["status"], closed["rent_charged"], closed["released_amount"]) == ("closed", 3_000, 47_000)
    (pay,) = alipay.bizs("alipay.trade.pay")
    assert (pay["auth_no"], pay["buyer_id"], pay["seller_id"], pay["total_amount"]) == (
        rental["auth_no"],
        "2088000000000777",
        alipay.seller_id,
        "30.00",
    )
    assert alipay.methods().count("alipay.fund.auth.order.unfreeze") == 1
    assert alipay.fulfilled == [rental["auth_no"]]  # bizComplete exactly once
    assert alipay.auths[rental["auth_no"]]["rest"] == 0


def test_an_overdue_rental_is_never_reported_fulfilled(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000778", 720)
    rental = active_rental(api, alipay, client, token, "2088000000000778")
    api.advance(10 * DAY)  # due after 7 days, 1 day of grace
    for _ in range(3):
        api.run_jobs()
        api.advance(16 * 60)
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert closed["status"] in ("defaulted", "closed") and closed["deducted_amount"] > 0, closed
    assert alipay.fulfilled == []
    assert all("extra_param" not in b for b in alipay.bizs("alipay.fund.auth.order.unfreeze"))
    assert alipay.auths[rental["auth_no"]]["rest"] == 0


def test_a_lost_freeze_notification_is_settled_by_reconciliation(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000779", 720)
    out = api.post("/v1/rentals", rental_body(), token=token)[1]
    alipay.open_freeze(order_string(api, token, f"/v1/rentals/{out['id']}"))  # the notification never arrives
    api.advance(16 * 60)
    api.run_jobs()
    rental = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert rental["status"] == "active" and rental["freeze_expires_at"]
    assert "alipay.fund.auth.operation.detail.query" in alipay.methods()


def test_a_freeze_never_completed_is_cancelled_at_alipay(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000780", 720)
    out = api.post("/v1/rentals", rental_body(), token=token)[1]
    freeze = biz_of(order_string(api, token, f"/v1/rentals/{out['id']}"))
    alipay.open_freeze(order_string(api, token, f"/v1/rentals/{out['id']}"), complete=False)  # the user left
    for _ in range(6):  # the rental waits, then lapses unconfirmed
        api.advance(DAY)
        api.run_jobs()
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] != "active"
    cancels = alipay.bizs("alipay.fund.auth.operation.cancel")
    assert [(c["out_order_no"], c["out_request_no"]) for c in cancels] == [
        (freeze["out_order_no"], freeze["out_request_no"])
    ]
    (auth,) = alipay.auths.values()
    assert auth["status"] == "CLOSED" and auth.get("cancelled")


# -- pay later ----------------------------------------------------------------------------------
def _pay_later(api: Api, gw: FakeAlipay, client, code: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    token = member(api, gw, code, 720)
    status, out = api.post("/v1/orders", ORDER, token=token)
    assert status == 201 and out["status"] == "pending_charge"
    confirmed = gw.open_credit_order(out["provider_params"]["order_str"])
    for _ in range(2):
        assert says(client, confirmed) == b"success"
    return token, out


def test_a_pay_later_order_is_charged_once_and_refunded(alipay, client, aws) -> None:
    api = Api(client)
    token, out = _pay_later(api, alipay, client, "2088000000000901")
    api.advance(7 * DAY)
    api.run_jobs()  # Alipay withholds asynchronously: the order waits for its answer
    (pay,) = alipay.bizs("alipay.trade.pay")
    assert (pay["auth_code"], pay["total_amount"]) == ("ZMCB0000000000", "99.00")
    paid = alipay.settle_trade(pay["out_trade_no"])
    for _ in range(2):
        assert says(client, paid) == b"success"
    charged = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (charged["status"], charged["charged"]) == ("charged", 9_900)
    assert next(iter(alipay.credit_orders.values()))["status"] == "TRADE_FINISHED"  # completes by itself
    status, refunded = api.post(f"/v1/orders/{out['id']}/refund", {"amount": 2_000}, token=token)
    assert status == 200 and (refunded["status"], refunded["refunded"]) == ("partially_refunded", 2_000)
    assert alipay.methods().count("alipay.trade.pay") == 1 and alipay.methods().count("alipay.trade.refund") == 1
    assert alipay.finishes == []  # a charged order is never finished by us


def test_lost_pay_later_notifications_are_settled_by_reconciliation(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000902", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    alipay.open_credit_order(out["provider_params"]["order_str"])  # the message never arrives
    api.advance(16 * 60)
    api.run_jobs()
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_state"] == "confirmed"
    api.advance(7 * DAY)
    api.run_jobs()
    alipay.settle_trade(alipay.bizs("alipay.trade.pay")[0]["out_trade_no"])  # the trade notification is lost too
    api.advance(16 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 9_900)
    assert alipay.methods().count("alipay.trade.pay") == 1 and "alipay.trade.query" in alipay.methods()


def test_a_charge_alipay_still_reports_unpaid_after_7_days_is_past_due(alipay, client, aws) -> None:  # defect 10
    api = Api(client)
    token, out = _pay_later(api, alipay, client, "2088000000000905")
    api.advance(7 * DAY)
    api.run_jobs()  # the one deduction is accepted (10003); Zhima collects from the user itself
    for _ in range(8):  # Alipay keeps answering WAIT_BUYER_PAY
        api.advance(DAY)
        api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("past_due", 0)
    assert alipay.methods().count("alipay.trade.pay") == 1  # never deducted twice


def test_a_cancelled_pay_later_order_is_finished_not_fulfilled(alipay, client, aws) -> None:
    api = Api(client)
    token, out = _pay_later(api, alipay, client, "2088000000000981")
    status, cancelled = api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)
    assert status == 200 and cancelled["status"] == "cancelled"
    (finish,) = alipay.finishes
    assert (finish["credit_biz_order_id"], finish["is_fulfilled"]) == ("ZMCB0000000000", "false") and finish["remark"]
    assert next(iter(alipay.credit_orders.values()))["status"] == "TRADE_CLOSED"
    assert aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]
    api.advance(8 * DAY)
    api.run_jobs()
    assert len(alipay.finishes) == 1 and "alipay.trade.pay" not in alipay.methods()


def test_a_failed_close_is_retried_by_the_sweep_and_finished_once(alipay, client, aws) -> None:
    api = Api(client)
    token, out = _pay_later(api, alipay, client, "2088000000000982")
    alipay.down.add("zhima.credit.payafteruse.creditbizorder.finish")
    assert api.post(f"/v1/orders/{out['id']}/cancel", {}, token=token)[0] == 200  # never waits on Alipay
    api.advance(16 * 60)
    api.run_jobs()
    assert not alipay.finishes
    alipay.down.clear()
    api.advance(16 * 60)
    api.run_jobs()
    api.advance(16 * 60)
    api.run_jobs()
    assert len(alipay.finishes) == 1 and aws.table.get(f"ORDER#{out['id']}", "ORDER")["agreement_closed_at"]


def test_an_order_never_confirmed_is_cancelled_without_a_call_to_finish(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000903", 720)
    out = api.post("/v1/orders", ORDER, token=token)[1]
    api.advance(7 * DAY)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("cancelled", 0)
    assert "alipay.trade.pay" not in alipay.methods() and not alipay.finishes


# -- bookings -----------------------------------------------------------------------------------
def test_a_booking_is_charged_once_and_a_free_cancellation_finishes_its_order(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000961", 720)
    booking = _book(api, token, 48 * HOUR)
    assert says(client, alipay.open_credit_order(booking["provider_params"]["order_str"])) == b"success"
    api.advance(49 * HOUR)
    assert api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)[0] == 200
    (pay,) = alipay.bizs("alipay.trade.pay")
    assert says(client, alipay.settle_trade(pay["out_trade_no"])) == b"success"
    done = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]
    assert (done["status"], done["charged"]) == ("charged", 10_000) and _exposure(api, token) == 0

    other = _book(api, token, 72 * HOUR)
    assert says(client, alipay.open_credit_order(other["provider_params"]["order_str"])) == b"success"
    status, out = api.post(f"/v1/bookings/{other['id']}/cancel", {}, token=token)
    assert status == 200 and out["cancellation_fee"] == 0
    (finish,) = alipay.finishes
    assert finish["is_fulfilled"] == "false" and alipay.methods().count("alipay.trade.pay") == 1


# -- installments ---------------------------------------------------------------------------------
def test_an_installment_order_is_a_huabei_trade_the_user_pays(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000951", 720)
    status, out = api.post("/v1/orders", INSTALLMENTS, token=token)
    assert status == 201 and out["status"] == "pending_charge"
    (create,) = alipay.bizs("alipay.trade.create")
    assert create["extend_params"] == {"hb_fq_num": "6", "hb_fq_seller_percent": "100"}
    assert (create["total_amount"], create["buyer_id"]) == ("1200.01", "2088000000000951")
    paid = alipay.pay_trade(out["provider_params"]["trade_no"])
    for _ in range(2):
        assert says(client, paid) == b"success"
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 120_001)


def test_a_lost_installment_payment_is_settled_and_an_unpaid_one_cancelled(alipay, client, aws) -> None:
    api = Api(client)
    token = member(api, alipay, "2088000000000952", 720)
    paid_later = api.post("/v1/orders", INSTALLMENTS, token=token)[1]
    alipay.pay_trade(paid_later["provider_params"]["trade_no"])  # paid; the notification never arrives
    unpaid = api.post("/v1/orders", {**INSTALLMENTS, "amount": 60_000}, token=token)[1]
    alipay.trades[alipay.bizs("alipay.trade.create")[-1]["out_trade_no"]]["status"] = "TRADE_CLOSED"
    api.advance(31 * 60)
    api.run_jobs()
    assert api.get(f"/v1/orders/{paid_later['id']}", token=token)[1]["status"] == "charged"
    gone = api.get(f"/v1/orders/{unpaid['id']}", token=token)[1]
    assert (gone["status"], gone["charged"]) == ("cancelled", 0)


# -- refunds ----------------------------------------------------------------------------------------
def test_a_refund_whose_answer_was_lost_is_settled_by_the_refund_query(alipay, client, aws) -> None:
    api = Api(client)
    token, out = _pay_later(api, alipay, client, "2088000000000904")
    api.advance(7 * DAY)
    api.run_jobs()
    assert says(client, alipay.settle_trade(alipay.bizs("alipay.trade.pay")[0]["out_trade_no"])) == b"success"
    alipay.lost["alipay.trade.refund"] = 1  # refunded at Alipay; the answer never arrives
    status, _ = api.post(f"/v1/orders/{out['id']}/refund", {"amount": 1_000}, token=token, key="r1")
    assert status == 502
    api.advance(16 * 60)
    api.run_jobs()
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert order["refunded"] == 1_000
    assert alipay.methods().count("alipay.trade.refund") == 1  # settled by query, never sent again
    assert "alipay.trade.fastpay.refund.query" in alipay.methods()
    (trade,) = [t for t in alipay.trades.values() if t["refunded"]]
    assert trade["refunded"] == 1_000


def test_an_order_a_coupon_pays_in_full_asks_alipay_nothing(alipay, client, aws) -> None:
    """Alipay takes 0.01 yuan at least (creditbizorder order_amount, trade.pay total_amount): an order whose
    coupon covers the whole amount opens no credit order and is charged 0 without a deduction."""
    api = Api(client)
    token = member(api, alipay, "2088000000000991", 610)  # 600-649: a 500 fen first-order coupon
    (coupon,) = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "first_order"]
    status, out = api.post("/v1/orders", {**ORDER, "amount": 300, "coupon_id": coupon["id"]}, token=token)
    assert status == 201 and (out["status"], out["discount"], out["payable"]) == ("pending_charge", 300, 0), out
    assert api.get(f"/v1/orders/{out['id']}", token=token)[1].get("provider_params") is None
    assert api.post(f"/v1/orders/{out['id']}/confirm", token=token)[0] == 200
    order = api.get(f"/v1/orders/{out['id']}", token=token)[1]
    assert (order["status"], order["charged"]) == ("charged", 0), order
    assert alipay.methods() == [m for m in alipay.methods() if not m.startswith(("alipay.trade", "zhima.credit.pay"))]
