"""Redemption as production runs it: POST /v1/orders with a `coupon_id` (the decision reads the coupon in
its one BatchGet, checks it, and reserves it in the order's transaction)."""

from __future__ import annotations

import concurrent.futures as cf

from chalicelib.services.marketing.coupons import coupon_key
from tests.helpers import Api


def first_order_coupon(api: Api, code: str) -> tuple[str, dict]:
    token = api.member(code)
    coupon = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "first_order"][0]
    return token, coupon


def order(api: Api, token: str, coupon_id: str, amount: int = 10_000) -> tuple[int, dict]:
    return api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": amount, "coupon_id": coupon_id}, token=token
    )


def _error(out: dict) -> tuple[str, str | None]:
    return out["error"]["code"], out["error"]["field"]


def test_six_concurrent_orders_with_one_coupon_only_one_gets_the_discount(client, aws):
    api = Api(client)
    token, coupon = first_order_coupon(api, "six:720")  # 700-749: 2,000 fen off a first order

    with cf.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: order(api, token, coupon["id"]), range(6)))
    wins = [out for status, out in results if status == 201]
    assert len(wins) == 1 and (wins[0]["discount"], wins[0]["payable"]) == (2_000, 8_000), results
    assert all(s == 409 and _error(o) == ("coupon_unavailable", "coupon_id") for s, o in results if s != 201), results
    stored = aws.table.get(*coupon_key(coupon["id"]))
    assert stored["status"] == "reserved" and stored["reserved_for"] == wins[0]["id"]
    assert [o["id"] for o in api.get("/v1/orders", token=token)[1]["items"]] == [wins[0]["id"]]


def test_the_discount_is_capped_at_the_price_and_a_used_coupon_never_comes_back(client, aws):
    api = Api(client)
    token, coupon = first_order_coupon(api, "cyc:610")  # 600-649: 500 fen off
    status, out = order(api, token, coupon["id"], amount=300)
    assert status == 201 and (out["discount"], out["payable"]) == (300, 0), out
    status = lambda: api.get("/v1/coupons", token=token)[1]["coupons"][0]["status"]  # noqa: E731
    assert status() == "used"  # reserved shows as used
    assert api.post(f"/v1/orders/{out['id']}/cancel", token=token)[0] == 200
    assert status() == "available"
    status_code, again = order(api, token, coupon["id"], amount=800)
    assert status_code == 201 and again["discount"] == 500
    assert api.post(f"/v1/orders/{again['id']}/confirm", token=token)[0] == 200
    api.run_jobs()
    assert api.get(f"/v1/orders/{again['id']}", token=token)[1]["status"] == "charged"
    assert api.post(f"/v1/orders/{again['id']}/refund", {}, token=token)[0] == 200  # too late to return it
    api.run_jobs()
    assert status() == "used" and aws.table.get(*coupon_key(coupon["id"]))["status"] == "used"


def test_another_members_coupon_is_404(client):
    api = Api(client)
    _, coupon = first_order_coupon(api, "own:720")
    thief, _ = first_order_coupon(api, "thief:720")
    for cid in (coupon["id"], "cpn_nosuch"):
        status, out = order(api, thief, cid)
        assert status == 404 and _error(out) == ("not_found", "coupon_id"), out
    assert api.get("/v1/orders", token=thief)[1]["items"] == []


def test_an_expired_coupon_is_refused(client):
    api = Api(client)
    token, coupon = first_order_coupon(api, "old:720")
    api.advance(31 * 86400)
    assert api.get("/v1/coupons", token=token)[1]["coupons"][0]["status"] == "expired"
    api.member("old:720")  # a fresh authorization: only the coupon is stale
    status, out = order(api, token, coupon["id"])
    assert status == 400 and _error(out) == ("coupon_expired", "coupon_id"), out


def test_minimum_spend_not_met_is_400(client):
    api = Api(client)
    token = api.member("min:760")
    assert (
        api.admin("POST", "/v1/admin/campaigns", {"tier": "gold", "amount": 1000, "min_spend": 9900, "valid_days": 7})[
            0
        ]
        == 201
    )
    api.run_jobs()
    coupon = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "campaign"][0]
    status, out = order(api, token, coupon["id"], amount=9899)
    assert status == 400 and _error(out) == ("coupon_min_spend_not_met", "coupon_id"), out
    status, out = order(api, token, coupon["id"], amount=9900)
    assert status == 201 and (out["discount"], out["payable"]) == (1000, 8900), out
