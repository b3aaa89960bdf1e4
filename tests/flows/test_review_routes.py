"""The admin risk routes with the real rentals and orders."""

from __future__ import annotations

from tests.helpers import Api, fold_metrics


def _rent(api: Api, token: str, item_value: int = 250_000, scenario: str = "books") -> dict:
    status, out = api.post(
        "/v1/rentals",
        {"scenario": scenario, "item_id": "tv-1", "item_value": item_value, "daily_rent": 500, "days": 7},
        token=token,
    )
    assert status == 201, out
    return out


def _order(api: Api, token: str, amount: int = 300_000) -> dict:
    status, out = api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": amount, "trial_days": 7}, token=token
    )
    assert status == 201, out
    return out


def _me(api: Api, token: str) -> dict:
    return api.get("/v1/me", token=token)[1]


def test_a_flagged_rental_is_queued_and_approved_by_the_operator(client):
    api = Api(client)
    token = api.member("vera:760")
    rental = _rent(api, token)  # the very first rental, over 2,000 yuan
    assert (rental["decision"], rental["reason"]) == ("review", "risk_rule:first_order_large")
    items = api.admin("GET", "/v1/admin/reviews?status=pending")[1]["items"]
    assert [(i["kind"], i["ref_id"], i["rule"]) for i in items] == [("rental", rental["id"], "first_order_large")]
    status, out = api.admin("POST", f"/v1/admin/reviews/{items[0]['id']}/approve", {})
    assert status == 200 and out["status"] == "approved"
    assert api.get(f"/v1/rentals/{rental['id']}", token=token)[1]["status"] == "pending_freeze"
    api.run_jobs()
    assert api.get(f"/v1/rentals/{rental['id']}", token=token)[1]["status"] == "active"
    assert _me(api, token)["exposure"] == 250_000
    assert api.admin("POST", f"/v1/admin/reviews/{items[0]['id']}/reject", {})[0] == 409
    assert api.admin("GET", "/v1/admin/reviews")[1]["items"] == []


def test_a_rejected_rental_gives_its_exposure_back(client):
    api = Api(client)
    token = api.member("walt:760")
    rental = _rent(api, token)
    assert _me(api, token)["exposure"] == 250_000
    status, _ = api.admin("POST", f"/v1/admin/reviews/rv_{rental['id']}/reject", {})
    assert status == 200
    assert api.get(f"/v1/rentals/{rental['id']}", token=token)[1]["status"] == "rejected"
    assert _me(api, token)["exposure"] == 0


def test_orders_are_approved_or_rejected_through_the_queue(client):
    api = Api(client)
    token = api.member("xena:780")
    first = _order(api, token)
    assert first["decision"] == "review"
    assert api.admin("POST", f"/v1/admin/reviews/rv_{first['id']}/approve", {})[0] == 200
    assert api.get(f"/v1/orders/{first['id']}", token=token)[1]["status"] == "pending_charge"
    other = api.member("yuri:780")
    second = _order(api, other)
    assert api.admin("POST", f"/v1/admin/reviews/rv_{second['id']}/reject", {})[0] == 200
    assert api.get(f"/v1/orders/{second['id']}", token=other)[1]["status"] == "rejected"
    assert _me(api, other)["exposure"] == 0


def test_blacklisted_members_are_rejected_by_rentals_and_orders(client):
    api = Api(client)
    token = api.member("zara:780")
    member_id = _me(api, token)["member_id"]
    assert api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "fraud"})[0] == 200
    rental = _rent(api, token, item_value=10_000)
    order = _order(api, token, amount=10_000)
    assert (rental["decision"], rental["reason"]) == ("rejected", "blacklisted")
    assert (order["decision"], order["reason"]) == ("rejected", "blacklisted")
    assert api.admin("DELETE", f"/v1/admin/blacklist/{member_id}")[0] == 204
    assert _rent(api, token, item_value=10_000)["decision"] == "deposit_free"


def test_a_rule_switched_off_for_a_scenario_lets_the_rental_through(client):
    api = Api(client)
    api.admin("PUT", "/v1/admin/scenarios/books", {"rules": {"first_order_large": False}})
    token = api.member("abel:760")
    assert _rent(api, token)["decision"] == "deposit_free"
    assert _rent(api, api.member("bart:760"), scenario="digital")["decision"] == "review"


def test_the_operators_answer_is_counted_as_the_final_decision_in_the_metrics(client, aws):
    api = Api(client)

    def totals() -> dict:
        fold_metrics(aws)  # what the table's stream does within seconds
        status, out = api.admin("GET", "/v1/admin/metrics")
        assert status == 200, out
        return out["totals"]

    approved, rejected = _order(api, api.member("zoe:780")), _order(api, api.member("zack:780"))
    opened = totals()
    assert (opened["decisions"], opened["reviews"]) == (0, 2)
    assert api.admin("POST", f"/v1/admin/reviews/rv_{approved['id']}/approve", {})[0] == 200
    assert api.admin("POST", f"/v1/admin/reviews/rv_{rejected['id']}/reject", {})[0] == 200
    decided = totals()
    assert (decided["decisions"], decided["rejected"], decided["conversion"]) == (2, 1, 0.5)
    assert decided["average_order_value"] == 300_000
