"""Orders a risk rule sends to review continue (approve) or close (reject) through the resolver."""

from __future__ import annotations

from chalicelib.services import tables
from chalicelib.services.risk import reviews
from chalicelib.store.uow import UnitOfWork
from tests.flows import money
from tests.helpers import Api

DAY = 86400


def _resolve(aws, ref_id: str, approved: bool) -> None:
    review = aws.table.get(*reviews.review_key(reviews.review_id(ref_id)))
    uow = UnitOfWork(aws.table, aws.clock.now(), "admin", aws.queues.send)
    tables.RESOLVERS[review["kind"]](aws, uow, review, approved)
    uow.commit()


def _large_first_order(api: Api, token: str) -> dict:
    status, out = api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 300_000, "trial_days": 7}, token=token
    )
    assert status == 201
    assert (out["decision"], out["reason"], out["status"]) == ("review", "risk_rule:first_order_large", "in_review")
    return out


def test_an_approved_order_is_charged_after_its_trial(client, aws):
    api = Api(client)
    token = api.member("rae:780")
    order = _large_first_order(api, token)
    assert api.get("/v1/me", token=token)[1]["exposure"] == 300_000
    api.advance(8 * DAY)
    api.run_jobs()
    assert money.ops(aws, order["id"], "charge") == []  # nothing charged while in review
    _resolve(aws, order["id"], approved=True)
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "pending_charge"
    api.run_jobs()  # its charge_at has passed: charged at once
    _, after = api.get(f"/v1/orders/{order['id']}", token=token)
    assert (after["status"], after["charged"]) == ("charged", 300_000)
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_a_rejected_order_releases_its_credit_and_is_never_charged(client, aws):
    api = Api(client)
    token = api.member("sal:780")
    order = _large_first_order(api, token)
    _resolve(aws, order["id"], approved=False)
    _resolve(aws, order["id"], approved=True)  # a second decision on a closed order changes nothing
    api.advance(8 * DAY)
    api.run_jobs()
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "rejected"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
    assert money.ops(aws, order["id"], "charge") == []


def test_a_member_may_cancel_while_in_review(client, aws):
    api = Api(client)
    token = api.member("tom:780")
    order = _large_first_order(api, token)
    assert api.post(f"/v1/orders/{order['id']}/cancel", token=token)[1]["status"] == "cancelled"
    _resolve(aws, order["id"], approved=True)
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "cancelled"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_over_the_limit_is_rejected_and_takes_no_credit(client):
    api = Api(client)
    token = api.member("uma:660")  # normal: 2,000 yuan
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 200_001}, token=token)
    assert (status, out["decision"], out["reason"], out["status"]) == (201, "rejected", "over_limit", "rejected")
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
    assert api.post(f"/v1/orders/{out['id']}/confirm", token=token)[0] == 409
