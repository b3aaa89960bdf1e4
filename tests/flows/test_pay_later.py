"""Pay later journeys with the clock moved (PRODUCT.md section 3, API.md 'Orders')."""

from __future__ import annotations

from chalicelib.services.marketing.coupons import coupon_key
from tests.flows import money
from tests.helpers import Api

DAY = 86400


def _order(api: Api, token: str, amount: int = 10_000, **extra) -> dict:
    status, out = api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": amount, **extra}, token=token
    )
    assert status == 201, out
    return out


def _me(api: Api, token: str) -> dict:
    return api.get("/v1/me", token=token)[1]


def test_a_pay_later_order_is_charged_when_the_trial_ends(client, aws):
    api = Api(client)
    token = api.member("ann:720")
    order = _order(api, token, trial_days=7)
    assert (order["decision"], order["status"], order["payable"], order["discount"]) == (
        "approved",
        "pending_charge",
        10_000,
        0,
    )
    assert _me(api, token)["exposure"] == 10_000
    api.advance(7 * DAY - 60)
    api.run_jobs()
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "pending_charge"
    assert money.charged(aws, order["id"]) == 0
    api.advance(60)
    api.run_jobs()
    api.run_jobs()  # a second run changes nothing
    _, after = api.get(f"/v1/orders/{order['id']}", token=token)
    assert (after["status"], after["charged"]) == ("charged", 10_000)
    assert (after["lines"], after["discounts"]) == ([{"name": "pay_later", "amount": 10_000}], [])  # itemised
    me = _me(api, token)
    assert me["exposure"] == 0 and me["on_time_count"] == 1
    assert len(money.ops(aws, order["id"], "charge")) == 1 and money.paid(aws, order["id"]) == 10_000


def test_the_trial_defaults_to_the_scenario_and_is_bounded(client):
    api = Api(client)
    token = api.member("bea:720")
    order = _order(api, token)
    assert order["trial_days"] == 14
    for bad in (6, 31):
        status, out = api.post(
            "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 100, "trial_days": bad}, token=token
        )
        assert (status, out["error"]["field"]) == (400, "trial_days")


def test_bad_orders_get_a_400_naming_the_field(client):
    api = Api(client)
    token = api.member("cal:720")
    cases = [
        ({"kind": "pay_later", "scenario": "books", "amount": 0}, "amount"),
        ({"kind": "later", "scenario": "books", "amount": 100}, "kind"),
        ({"kind": "pay_later", "scenario": "nope", "amount": 100}, "scenario"),
        ({"kind": "pay_later", "scenario": "books", "amount": "100"}, "amount"),
        ({"kind": "pay_later", "scenario": "books", "amount": 100, "installments": 3}, "installments"),
    ]
    for body, field in cases:
        status, out = api.post("/v1/orders", body, token=token)
        assert (status, out["error"]["field"]) == (400, field), body


def test_an_unauthorized_member_is_refused(client):
    api = Api(client)
    token = api.sign_in("dot:720")
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 100}, token=token)
    assert (status, out["error"]["code"]) == (403, "credit_authorization_required")


def test_cancel_before_the_charge_and_nothing_is_ever_charged(client, aws):
    api = Api(client)
    token = api.member("eli:720")
    order = _order(api, token)
    status, out = api.post(f"/v1/orders/{order['id']}/cancel", token=token)
    assert (status, out["status"]) == (200, "cancelled")
    assert _me(api, token)["exposure"] == 0
    api.advance(31 * DAY)
    api.run_jobs()
    assert money.ops(aws, order["id"], "charge") == []
    assert api.post(f"/v1/orders/{order['id']}/cancel", token=token)[0] == 409
    assert api.post(f"/v1/orders/{order['id']}/confirm", token=token)[0] == 409
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "cancelled"


def test_confirm_charges_at_once_and_only_once(client, aws):
    api = Api(client)
    token = api.member("fin:720")
    order = _order(api, token)
    status, out = api.post(f"/v1/orders/{order['id']}/confirm", token=token, key="c-1")
    assert (status, out["status"], out["charged"]) == (200, "charged", 10_000)
    replay = api.post(f"/v1/orders/{order['id']}/confirm", token=token, key="c-1")
    assert replay == (200, out)
    assert api.post(f"/v1/orders/{order['id']}/confirm", token=token)[0] == 409
    assert api.post(f"/v1/orders/{order['id']}/cancel", token=token)[0] == 409
    api.advance(15 * DAY)
    api.run_jobs()
    assert len(money.ops(aws, order["id"], "charge")) == 1 and money.paid(aws, order["id"]) == 10_000
    assert _me(api, token)["exposure"] == 0


def test_partial_then_full_refund_never_more_than_charged(client, aws):
    api = Api(client)
    token = api.member("gus:720")
    order = _order(api, token)
    assert api.post(f"/v1/orders/{order['id']}/refund", {"amount": 100}, token=token)[0] == 409  # not charged yet
    api.post(f"/v1/orders/{order['id']}/confirm", token=token)
    status, out = api.post(f"/v1/orders/{order['id']}/refund", {"amount": 3_000}, token=token)
    assert (status, out["status"], out["refunded"]) == (200, "partially_refunded", 3_000)
    status, out = api.post(f"/v1/orders/{order['id']}/refund", {"amount": 7_001}, token=token)
    assert (status, out["error"]["field"]) == (400, "amount")
    status, out = api.post(f"/v1/orders/{order['id']}/refund", {}, token=token)
    assert (status, out["status"], out["refunded"]) == (200, "refunded", 10_000)
    assert api.post(f"/v1/orders/{order['id']}/refund", {"amount": 1}, token=token)[0] == 409
    assert money.refunded(aws, order["id"]) == 10_000
    assert money.paid(aws, order["id"]) == out["charged"] - out["refunded"] == 0


def test_a_failing_charge_is_retried_3_times_a_day_apart_then_past_due(client, aws):
    api = Api(client)
    token = api.member("hal:720:charge_fails")
    order = _order(api, token, trial_days=7)
    api.advance(7 * DAY)
    for attempt in range(1, 4):
        api.run_jobs()
        api.run_jobs()  # running twice never adds an attempt
        _, now = api.get(f"/v1/orders/{order['id']}", token=token)
        assert (now["status"], now["charge_attempts"]) == ("pending_charge", attempt)
        api.advance(DAY - 60)
        api.run_jobs()
        assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["charge_attempts"] == attempt
        api.advance(60)
    api.run_jobs()
    _, final = api.get(f"/v1/orders/{order['id']}", token=token)
    assert (final["status"], final["charge_attempts"]) == ("past_due", 4)
    me = _me(api, token)
    assert me["blacklisted"] is True and me["default_count"] == 1
    assert me["exposure"] == 10_000  # still owed
    assert aws.table.get(f"MEMBER#{me['member_id']}", "MEMBER")["blacklist_reason"] == "default"
    assert money.paid(aws, order["id"]) == 0 and len(money.ops(aws, order["id"], "charge")) == 4
    api.advance(5 * DAY)
    api.run_jobs()
    assert len(money.ops(aws, order["id"], "charge")) == 4


def test_a_charge_that_fails_once_succeeds_on_the_retry(client, aws):
    api = Api(client)
    token = api.member("ivy:720:charge_fails_once")
    order = _order(api, token)
    out = api.post(f"/v1/orders/{order['id']}/confirm", token=token)[1]
    assert (out["status"], out["charge_attempts"], out["charged"]) == ("pending_charge", 1, 0)
    api.advance(DAY)
    api.run_jobs()
    _, after = api.get(f"/v1/orders/{order['id']}", token=token)
    assert (after["status"], after["charge_attempts"], after["charged"]) == ("charged", 2, 10_000)
    assert money.paid(aws, order["id"]) == 10_000
    me = _me(api, token)
    assert me["exposure"] == 0 and me["blacklisted"] is False and me["on_time_count"] == 0


def test_a_coupon_is_held_consumed_on_charge_and_returned_on_cancel(client, aws):
    api = Api(client)
    token = api.member("jo:720")  # 700-749: a 20-yuan first-order coupon
    coupons = api.get("/v1/coupons", token=token)[1]["coupons"]
    cid = next(c["id"] for c in coupons if c["kind"] == "first_order")
    order = _order(api, token, coupon_id=cid)
    assert (order["discount"], order["payable"]) == (2_000, 8_000)
    assert aws.table.get(*coupon_key(cid))["status"] == "reserved"
    assert (
        api.post(
            "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000, "coupon_id": cid}, token=token
        )[0]
        == 409
    )
    api.post(f"/v1/orders/{order['id']}/cancel", token=token)
    assert aws.table.get(*coupon_key(cid))["status"] == "available"
    api.advance(2 * 3600)
    again = _order(api, token, coupon_id=cid)
    api.post(f"/v1/orders/{again['id']}/confirm", token=token)
    assert aws.table.get(*coupon_key(cid))["status"] == "used"
    assert money.paid(aws, again["id"]) == 8_000 and _me(api, token)["exposure"] == 0


def test_orders_are_listed_newest_first_and_private(client):
    api = Api(client)
    token, other = api.member("kim:720"), api.member("lee:720")
    first = _order(api, token)
    api.advance(60)
    second = _order(api, token, amount=500)
    status, out = api.get("/v1/orders", token=token)
    assert status == 200 and [o["id"] for o in out["items"]] == [second["id"], first["id"]]
    assert api.get(f"/v1/orders/{first['id']}", token=other)[0] == 404
    assert api.post(f"/v1/orders/{first['id']}/cancel", token=other)[0] == 404
    assert api.get("/v1/orders", token=other)[1]["items"] == []
    assert api.get("/v1/orders/ord_nope", token=token)[0] == 404


def test_the_same_idempotency_key_replays_the_order_without_a_second_one(client):
    api = Api(client)
    token = api.member("mo:720")
    body = {"kind": "pay_later", "scenario": "books", "amount": 4_000}
    first = api.post("/v1/orders", body, token=token, key="k-1")
    assert first[0] == 201
    assert api.post("/v1/orders", body, token=token, key="k-1") == first
    status, err = api.post("/v1/orders", {**body, "amount": 4_001}, token=token, key="k-1")
    assert (status, err["error"]["code"]) == (422, "idempotency_key_reused")
    assert len(api.get("/v1/orders", token=token)[1]["items"]) == 1
    assert _me(api, token)["exposure"] == 4_000
