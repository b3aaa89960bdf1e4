"""Installments: quotes, eligibility, the plan kept on the order (API.md 'Orders')."""

from __future__ import annotations

from chalicelib.services.orders.orders import order_key
from tests.flows import money
from tests.helpers import Api


def test_the_quote_floors_periods_and_puts_the_remainder_first(client):
    api = Api(client)
    token = api.member("ada:720")  # silver
    status, out = api.get("/v1/installments/quote?amount=100001", token=token)
    assert status == 200
    plans = {p["installments"]: p for p in out["plans"]}
    assert sorted(plans) == [3, 6, 12]
    assert (plans[3]["first_payment"], plans[3]["per_period"]) == (33_335, 33_333)
    assert (plans[12]["first_payment"], plans[12]["per_period"]) == (8_338, 8_333)
    assert all(p["eligible"] and p["fee_payer"] == "merchant" for p in plans.values())


def test_twelve_periods_are_for_silver_and_gold_only(client):
    api = Api(client)
    token = api.member("ben:660")  # normal
    _, out = api.get("/v1/installments/quote?amount=60000", token=token)
    assert [p["eligible"] for p in out["plans"]] == [True, True, False]
    status, err = api.post(
        "/v1/orders", {"kind": "installment", "scenario": "books", "amount": 60_000, "installments": 12}, token=token
    )
    assert (status, err["error"]["field"], err["error"]["code"]) == (
        400,
        "installments",
        "installment_tier_not_eligible",
    )


def test_below_600_yuan_is_refused_on_amount(client):
    api = Api(client)
    token = api.member("cid:760")
    _, out = api.get("/v1/installments/quote?amount=59999", token=token)
    assert not any(p["eligible"] for p in out["plans"])
    status, err = api.post(
        "/v1/orders", {"kind": "installment", "scenario": "books", "amount": 59_999, "installments": 3}, token=token
    )
    assert (status, err["error"]["field"], err["error"]["code"]) == (400, "amount", "installment_amount_below_minimum")


def test_bad_quotes_and_bad_plans_get_400(client):
    api = Api(client)
    token = api.member("dee:760")
    assert api.get("/v1/installments/quote?amount=0", token=token)[0] == 400
    assert api.get("/v1/installments/quote?amount=abc", token=token)[0] == 400
    assert api.get("/v1/installments/quote?amount=100")[0] == 401
    for body, field in [
        ({"installments": 4}, "installments"),
        ({}, "installments"),
        ({"installments": 3, "trial_days": 7}, "trial_days"),
    ]:
        status, err = api.post(
            "/v1/orders", {"kind": "installment", "scenario": "books", "amount": 60_000, **body}, token=token
        )
        assert (status, err["error"]["field"]) == (400, field)


def test_an_installment_order_keeps_its_plan_and_is_charged_in_full_by_the_worker(client, aws):
    api = Api(client)
    token = api.member("eve:760")
    status, order = api.post(
        "/v1/orders", {"kind": "installment", "scenario": "digital", "amount": 120_001, "installments": 12}, token=token
    )
    assert (status, order["status"], order["installments"]) == (201, "pending_charge", 12)
    assert (order["plan"]["first_payment"], order["plan"]["per_period"]) == (10_001, 10_000)
    item = aws.table.get(*order_key(order["id"]))
    assert item["provider_terms"] == {"hb_fq_num": "12", "hb_fq_seller_percent": "100"}
    api.run_jobs()
    _, after = api.get(f"/v1/orders/{order['id']}", token=token)
    assert (after["status"], after["charged"]) == ("charged", 120_001)
    assert money.paid(aws, order["id"]) == 120_001
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
