"""Rentals, route by route (API.md "Rentals" and the admin rental routes)."""

from __future__ import annotations

import concurrent.futures as cf
from datetime import timedelta

from tests.helpers import Api
from tests.rental_helpers import DAY, active_rental, audit_actions, me, provider_ops, rent, rental_body


def test_a_good_member_rents_deposit_free_and_the_freeze_is_asked_for(client, aws):
    api = Api(client)
    token = api.member("alice:720")
    status, out = rent(api, token)
    assert status == 201
    assert (out["decision"], out["reason"], out["status"]) == ("deposit_free", None, "pending_freeze")
    assert (out["frozen_amount"], out["deposit_amount"], out["rent"]) == (50_000, 0, 3_500)
    assert out["id"].startswith("rt_") and out["due_at"].endswith("Z")
    assert me(api, token)["exposure"] == 50_000  # counted from the moment of the decision
    assert provider_ops(aws, out["id"])["freeze"]["amount"] == 50_000


def test_below_the_scenario_threshold_a_deposit_is_required(client):
    api = Api(client)
    token = api.member("bob:620")
    status, out = rent(api, token, scenario="clothing")
    assert status == 201 and (out["decision"], out["status"]) == ("deposit_required", "awaiting_deposit")
    assert (out["frozen_amount"], out["deposit_amount"]) == (0, 50_000)
    assert me(api, token)["exposure"] == 0


def test_rejections_are_recorded_with_their_reason(client):
    api = Api(client)
    low = api.member("fay:500")
    status, out = rent(api, low)
    assert status == 201 and (out["decision"], out["reason"], out["status"]) == (
        "rejected",
        "score_below_floor",
        "rejected",
    )
    assert api.get(f"/v1/rentals/{out['id']}", token=low)[1]["reason"] == "score_below_floor"
    none_tier = api.member("gil:590")  # limit 1,000 yuan
    status, out = rent(api, none_tier, item_value=150_000)
    assert (out["decision"], out["reason"]) == ("rejected", "over_limit")
    assert me(api, none_tier)["exposure"] == 0


def test_a_risk_rule_sends_the_rental_to_review(client, aws):
    api = Api(client)
    token = api.member("hana:720")
    status, out = rent(api, token, item_value=250_000)  # very first rental over 2,000 yuan
    assert (out["decision"], out["reason"], out["status"]) == ("review", "risk_rule:first_order_large", "review")
    review = aws.table.get(f"REVIEW#rv_{out['id']}", "REVIEW")
    assert review["kind"] == "rental" and review["status"] == "pending"


def test_unknown_scenario_and_bad_fields_are_400_naming_the_field(client):
    api = Api(client)
    token = api.member("ian:720")
    cases = [
        ({"scenario": "spaceships"}, "scenario"),
        ({"item_value": 0}, "item_value"),
        ({"item_value": -5}, "item_value"),
        ({"days": "7"}, "days"),
        ({"days": 0}, "days"),
        ({"daily_rent": 1.5}, "daily_rent"),
        ({"extra": 1}, "extra"),
    ]
    for over, field in cases:
        status, out = rent(api, token, **over)
        assert status == 400 and out["error"]["code"] == "validation_error" and out["error"]["field"] == field, over
    body = rental_body()
    del body["item_id"]
    status, out = api.post("/v1/rentals", body, token=token)
    assert status == 400 and out["error"]["field"] == "item_id"


def test_without_a_credit_authorization_it_is_403(client):
    api = Api(client)
    token = api.sign_in("jay:720")
    status, out = rent(api, token)
    assert status == 403 and out["error"]["code"] == "credit_authorization_required"
    assert api.get("/v1/rentals", token=token)[1]["items"] == []


def test_members_see_only_their_own_rentals_newest_first(client):
    api = Api(client)
    a, b = api.member("kay:720"), api.member("lou:720")
    first = rent(api, a, item_id="one")[1]
    api.advance(60)
    second = rent(api, a, item_id="two")[1]
    status, out = api.get("/v1/rentals", token=a)
    assert status == 200 and [i["id"] for i in out["items"]] == [second["id"], first["id"]]
    assert api.get("/v1/rentals", token=b)[1]["items"] == []
    for method, path in [("GET", f"/v1/rentals/{first['id']}"), ("POST", f"/v1/rentals/{first['id']}/return")]:
        status, err = api.call(method, path, {} if method == "POST" else None, token=b)
        assert status == 404 and err["error"]["code"] == "not_found", path
    assert api.get("/v1/rentals/rt_nope", token=a)[0] == 404


def test_the_same_idempotency_key_creates_one_rental(client):
    api = Api(client)
    token = api.member("max:720")
    s1, o1 = rent(api, token, key="r-1")
    s2, o2 = rent(api, token, key="r-1")
    assert (s1, s2) == (201, 201) and o1 == o2
    assert len(api.get("/v1/rentals", token=token)[1]["items"]) == 1
    assert me(api, token)["exposure"] == 50_000


def test_eight_concurrent_returns_one_wins_the_rest_are_409(client, aws):
    api = Api(client)
    token = api.member("ned:720")
    rental = active_rental(api, token)

    def go(_):
        return api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)

    with cf.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(go, range(8)))
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * 7, results
    assert all(o["error"]["code"] == "invalid_state" for s, o in results if s == 409)
    assert audit_actions(aws, rental["id"]).count("returned") == 1


def test_returning_what_is_not_active_is_409(client):
    api = Api(client)
    token = api.member("oli:720")
    _, pending = rent(api, token)
    status, out = api.post(f"/v1/rentals/{pending['id']}/return", {}, token=token)
    assert status == 409 and out["error"]["code"] == "invalid_state"


def test_ten_simultaneous_rentals_never_exceed_the_limit(client, aws):
    api = Api(client)
    token = api.member("pia:720")  # silver: 5,000 yuan
    limit = me(api, token)["credit_limit"]

    def go(i):
        return rent(api, token, item_id=f"i{i}", item_value=120_000)

    with cf.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(go, range(10)))
    created = [o for s, o in results if s == 201]
    taking_credit = [o for o in created if o["decision"] in ("deposit_free", "review")]
    assert all(s in (201, 409) for s, _ in results), results
    assert 1 <= len(taking_credit) <= limit // 120_000  # 4 fit; a request out of retries may get 409
    assert me(api, token)["exposure"] == 120_000 * len(taking_credit) <= limit
    assert {o["reason"] for o in created if o["decision"] == "rejected"} <= {"over_limit"}


def test_operators_deduct_from_a_live_freeze_never_beyond_it(client, aws):
    api = Api(client)
    token = api.member("quin:720")
    rental = active_rental(api, token, item_value=10_000, daily_rent=100, days=5)
    path = f"/v1/admin/rentals/{rental['id']}/deductions"
    status, out = api.admin("POST", path, {"amount": 4_000, "reason": "scratched cover"})
    assert status == 201 and out["deducted_amount"] == 4_000 and out["deduction"]["reason"] == "scratched cover"
    status, out = api.admin("POST", path, {"amount": 6_001, "reason": "too much"})
    assert status == 400 and out["error"]["field"] == "amount"
    status, out = api.admin("POST", path, {"amount": 0, "reason": "nothing"})
    assert status == 400 and out["error"]["field"] == "amount"
    assert api.call("POST", path, {"amount": 1, "reason": "x"}, token=token)[0] == 403
    assert api.admin("POST", "/v1/admin/rentals/rt_none/deductions", {"amount": 1, "reason": "x"})[0] == 404
    assert provider_ops(aws, rental["id"])["ded1"]["amount"] == 4_000
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    api.run_jobs()
    status, out = api.admin("POST", path, {"amount": 1, "reason": "late claim"})
    assert status == 409 and out["error"]["code"] == "invalid_state"
    status, full = api.admin("GET", f"/v1/admin/rentals/{rental['id']}")
    assert status == 200 and full["status"] == "closed"
    # returned within its first day: one day's rent (PRODUCT.md 2a early return)
    assert [(m["kind"], m["amount"]) for m in full["money"]] == [
        ("deduction", 4_000),
        ("rent", 100),
        ("release", 5_900),
    ]
    assert full["frozen_amount"] == full["rent_charged"] + full["deducted_amount"] + full["released_amount"]
    assert all(m["out_request_no"].startswith(rental["id"]) and m["at"].endswith("Z") for m in full["money"])


def test_admin_rental_routes_need_the_operator_and_an_existing_rental(client):
    api = Api(client)
    token = api.member("ray:720")
    _, out = rent(api, token)
    assert api.get(f"/v1/admin/rentals/{out['id']}", token=token)[0] == 403
    assert api.admin("GET", "/v1/admin/rentals/rt_nothing")[0] == 404
    status, full = api.admin("GET", f"/v1/admin/rentals/{out['id']}")
    assert status == 200 and full["money"] == [] and full["member_id"] == me(api, token)["member_id"]


def test_a_coupon_lowers_the_rent_and_is_used_at_close(client, aws):
    from chalicelib.services.marketing import coupons

    api = Api(client)
    token = api.member("sue:720")
    member_id = me(api, token)["member_id"]
    cid = coupons.coupon_id("test", member_id)
    now = aws.clock.now()
    aws.table.put(coupons.coupon_item(cid, member_id, "campaign", 1_000, 0, now, now + timedelta(days=30)))
    status, out = rent(api, token, coupon_id=cid)
    assert status == 201 and out["discount"] == 1_000 and out["rent"] == 2_500
    api.run_jobs()
    api.advance(7 * DAY - 3600)  # kept for the whole term
    api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert closed["rent_charged"] == 2_500 and closed["released_amount"] == 47_500
    assert (closed["lines"], closed["discounts"]) == (
        [{"name": "rent", "amount": 3_500}],
        [{"name": "coupon", "amount": 1_000}],
    )
    assert aws.table.get(f"COUPON#{cid}", "COUPON")["status"] == "used"
    status, again = rent(api, token, coupon_id=cid)
    assert status == 409 and again["error"]["field"] == "coupon_id"
