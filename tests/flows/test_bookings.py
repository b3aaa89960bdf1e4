"""Bookings guaranteed by credit: fees at each boundary, completion, disputes (PRODUCT.md section 4)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.clock import iso, parse_iso
from chalicelib.services import tables
from chalicelib.services.risk import reviews
from chalicelib.store.uow import UnitOfWork
from tests.flows import money
from tests.helpers import Api

HOUR = 3600


def _at(api: Api, seconds: int) -> str:
    now = parse_iso(api.get("/v1/sandbox/clock")[1]["now"])
    return iso(now + timedelta(seconds=seconds))


def _book(api: Api, token: str, starts_in: int, price: int = 10_000) -> dict:
    status, out = api.post(
        "/v1/bookings", {"service_id": "spa-1", "starts_at": _at(api, starts_in), "price": price}, token=token
    )
    assert status == 201, out
    return out


def _exposure(api: Api, token: str) -> int:
    return api.get("/v1/me", token=token)[1]["exposure"]


def _resolve(aws, review_id: str, approved: bool) -> None:
    review = aws.table.get(*reviews.review_key(review_id))
    uow = UnitOfWork(aws.table, aws.clock.now(), "admin", aws.queues.send)
    tables.RESOLVERS[review["kind"]](aws, uow, review, approved)
    uow.commit()


def test_a_booking_is_confirmed_and_its_price_counts_in_exposure(client):
    api = Api(client)
    token = api.member("amy:660")
    booking = _book(api, token, 48 * HOUR)
    assert (booking["status"], booking["decision"], booking["price"]) == ("confirmed", "approved", 10_000)
    assert _exposure(api, token) == 10_000
    assert api.get(f"/v1/bookings/{booking['id']}", token=token)[1]["status"] == "confirmed"
    assert api.get(f"/v1/bookings/{booking['id']}", token=api.member("bo:660"))[0] == 404


def test_bad_bookings_get_a_400_naming_the_field(client):
    api = Api(client)
    token = api.member("cy:660")
    cases = [
        ({"starts_at": "2030-01-01T10:00:00"}, "starts_at"),
        ({"starts_at": _at(api, -60)}, "starts_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"price": 0}, "price"),
        ({"price": -5}, "price"),
    ]
    for over, field in cases:
        body = {"service_id": "spa-1", "starts_at": _at(api, HOUR), "price": 100, **over}
        status, out = api.post("/v1/bookings", body, token=token)
        assert (status, out["error"]["field"]) == (400, field), over


def test_normal_members_cancel_free_until_24h_before_then_pay_20_percent(client, aws):
    api = Api(client)
    token = api.member("di:660")
    early = _book(api, token, 24 * HOUR + 60)
    status, out = api.post(f"/v1/bookings/{early['id']}/cancel", token=token)
    assert (status, out["status"], out["cancellation_fee"]) == (200, "cancelled", 0)
    late = _book(api, token, 48 * HOUR)
    api.advance(24 * HOUR + 60)
    status, out = api.post(f"/v1/bookings/{late['id']}/cancel", token=token)
    assert (status, out["status"], out["cancellation_fee"]) == (200, "cancelled", 2_000)
    assert _exposure(api, token) == 0
    api.run_jobs()
    api.run_jobs()
    assert api.get(f"/v1/bookings/{late['id']}", token=token)[1]["fee_charged"] is True
    assert money.paid(aws, late["id"]) == 2_000 and money.paid(aws, early["id"]) == 0
    assert api.post(f"/v1/bookings/{late['id']}/cancel", token=token)[0] == 409


def test_the_late_fee_is_capped_at_50_yuan(client, aws):
    api = Api(client)
    token = api.member("ed:600")  # tier none
    booking = _book(api, token, HOUR, price=40_000)
    out = api.post(f"/v1/bookings/{booking['id']}/cancel", token=token)[1]
    assert out["cancellation_fee"] == 5_000
    api.run_jobs()
    assert money.paid(aws, booking["id"]) == 5_000
    after = api.get(f"/v1/bookings/{booking['id']}", token=token)[1]  # itemised: the fee by name
    assert (after["lines"], after["discounts"]) == ([{"name": "cancellation_fee", "amount": 5_000}], [])


def test_silver_and_gold_cancel_free_until_the_start_but_not_after(client):
    api = Api(client)
    for code in ("fa:720", "gil:780"):
        token = api.member(code)
        booking = _book(api, token, 2 * HOUR)
        api.advance(2 * HOUR - 60)
        out = api.post(f"/v1/bookings/{booking['id']}/cancel", token=token)[1]
        assert (out["status"], out["cancellation_fee"]) == ("cancelled", 0)
        started = _book(api, token, 60)
        api.advance(120)
        status, err = api.post(f"/v1/bookings/{started['id']}/cancel", token=token)
        assert (status, err["error"]["code"]) == (409, "invalid_state")


def test_a_satisfied_member_is_charged_after_the_service(client, aws):
    api = Api(client)
    token = api.member("hu:720")
    booking = _book(api, token, HOUR)
    status, err = api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)
    assert status == 409  # not started yet
    api.advance(2 * HOUR)
    status, out = api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=token)
    assert (status, out["status"], out["charged"]) == (200, "charged", 10_000)
    api.run_jobs()
    assert money.paid(aws, booking["id"]) == 10_000 and len(money.ops(aws, booking["id"], "charge")) == 1
    assert _exposure(api, token) == 0
    assert api.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": False}, token=token)[0] == 409


def test_an_unsatisfied_member_opens_a_dispute_for_the_operators(client, aws):
    api = Api(client)
    token = api.member("io:720")
    upheld, refused = _book(api, token, HOUR), _book(api, token, HOUR, price=7_000)
    api.advance(2 * HOUR)
    for b in (upheld, refused):
        status, out = api.post(
            f"/v1/bookings/{b['id']}/complete", {"satisfied": False, "comment": "cold room"}, token=token
        )
        assert (status, out["status"]) == (200, "disputed")
    review = aws.table.get(*reviews.review_key(reviews.review_id(f"dispute_{upheld['id']}")))
    assert (review["kind"], review["status"], review["evidence"]["comment"]) == ("dispute", "pending", "cold room")
    pending = list(aws.table.query("list_pk = :p", {":p": "review#pending"}, index="list"))
    assert {r["kind"] for r in pending} == {"dispute"} and len(pending) == 2
    _resolve(aws, review["id"], approved=True)
    _resolve(aws, reviews.review_id(f"dispute_{refused['id']}"), approved=False)
    api.run_jobs()
    assert api.get(f"/v1/bookings/{upheld['id']}", token=token)[1]["status"] == "waived"
    assert api.get(f"/v1/bookings/{refused['id']}", token=token)[1]["status"] == "charged"
    assert money.paid(aws, upheld["id"]) == 0 and money.paid(aws, refused["id"]) == 7_000
    assert _exposure(api, token) == 0
