"""The rest of a rental's life over HTTP on the sandbox (PRODUCT.md 2a, API.md "Rest of a rental's life"):
itemised money, early return, renewal, buyout."""

from __future__ import annotations

from tests.helpers import Api
from tests.rental_helpers import DAY, active_rental, assert_ledger, audit_actions, me, provider_op


def _get(api, token, rid):
    return api.get(f"/v1/rentals/{rid}", token=token)[1]


def _taken(rental: dict) -> int:
    return sum(x["amount"] for x in rental["lines"]) - sum(x["amount"] for x in rental["discounts"])


def test_a_defaulted_rental_shows_rent_and_overdue_fee_lines_summing_to_what_was_taken(client, aws):
    api = Api(client)
    token = api.member("ida:720")
    rental = active_rental(api, token, days=3)
    api.advance(5 * DAY)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert closed["outcome"] == "defaulted"
    # 2 days and a moment late: 3 days of overdue fee on top of the 3 days' rent
    assert closed["lines"] == [{"name": "rent", "amount": 1_500}, {"name": "overdue_fee", "amount": 1_500}]
    assert closed["discounts"] == []
    assert _taken(closed) == closed["rent_charged"] + closed["deducted_amount"] == 3_000
    assert_ledger(closed)


def test_an_early_return_pays_rent_for_the_days_used_and_at_least_one(client, aws):
    api = Api(client)
    token = api.member("jon:720")
    first = active_rental(api, token, days=7)
    api.post(f"/v1/rentals/{first['id']}/return", {}, token=token)  # within the first day
    second = active_rental(api, token, days=7, item_id="book-2")
    api.advance(2 * DAY + 3600)  # in the third day
    api.post(f"/v1/rentals/{second['id']}/return", {}, token=token)
    api.run_jobs()
    one, three = _get(api, token, first["id"]), _get(api, token, second["id"])
    assert (one["rent_charged"], one["released_amount"], one["lines"]) == (
        500,
        49_500,
        [{"name": "rent", "amount": 500}],
    )
    assert (three["rent_charged"], three["released_amount"]) == (1_500, 48_500)
    assert provider_op(aws, f"{second['id']}_rent")["amount"] == 1_500
    assert provider_op(aws, f"{second['id']}_release")["fulfilled"] is True  # early is on time
    for closed in (one, three):
        assert closed["outcome"] == "returned" and _taken(closed) == closed["rent_charged"]
        assert_ledger(closed)
    assert me(api, token)["on_time_count"] == 2


# -- renewal ------------------------------------------------------------------------------------------
def test_a_renewal_moves_the_due_date_and_the_rent_is_taken_for_the_longer_term(client, aws):
    api = Api(client)
    token = api.member("kim:720")
    rental = active_rental(api, token, days=7)
    api.advance(3 * DAY)
    status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 5}, token=token, key="renew-1")
    assert status == 200, out
    assert (out["status"], out["days"], out["rent"]) == ("active", 12, 6_000)
    assert out["due_at"] > rental["due_at"]
    assert api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 5}, token=token, key="renew-1") == (200, out)
    assert _get(api, token, rental["id"])["days"] == 12  # the replay had no second effect
    api.advance(9 * DAY - 3600)  # past the old due date + grace, before the new one: no default
    api.run_jobs()
    assert _get(api, token, rental["id"])["status"] == "active"
    api.advance(3600 + 60)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["outcome"], closed["rent_charged"], closed["released_amount"]) == ("returned", 6_000, 44_000)
    assert_ledger(closed)
    assert "renewed" in audit_actions(aws, rental["id"])


def test_a_renewal_whose_rent_would_outgrow_the_freeze_is_refused(client, aws):
    api = Api(client)
    token = api.member("lou:720")
    rental = active_rental(api, token, item_value=5_000, daily_rent=500, days=7)
    status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 4}, token=token)
    assert (status, out["error"]["code"]) == (409, "freeze_insufficient")
    status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 3}, token=token)
    assert (status, out["rent"]) == (200, 5_000)


def test_a_renewal_is_refused_once_due_for_a_blacklisted_member_and_for_bad_days(client, aws):
    api = Api(client)
    token = api.member("max:720")
    rental = active_rental(api, token, days=3)
    for bad in (0, 31, "5", None):
        status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": bad}, token=token)
        assert (status, out["error"]["field"]) == (400, "days"), bad
    member_id = me(api, token)["member_id"]
    assert api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "fraud"})[0] in (200, 201)
    status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 2}, token=token)
    assert (status, out["error"]["code"]) == (403, "blacklisted")
    api.admin("DELETE", f"/v1/admin/blacklist/{member_id}")
    api.advance(3 * DAY + 60)  # past the due date
    status, out = api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 2}, token=token)
    assert (status, out["error"]["code"]) == (409, "invalid_state")
    other = api.member("ned:720")
    assert api.post(f"/v1/rentals/{rental['id']}/renew", {"days": 2}, token=other)[0] == 404


# -- buyout ---------------------------------------------------------------------------------------------
def test_a_buyout_takes_item_value_less_rent_accrued_releases_the_rest_and_is_fulfilled(client, aws):
    api = Api(client)
    token = api.member("ola:720")
    rental = active_rental(api, token, item_value=50_000, daily_rent=500, days=7)
    api.advance(2 * DAY + 60)  # in the third day: 1,500 rent accrued
    status, out = api.post(f"/v1/rentals/{rental['id']}/buyout", {}, token=token, key="buy-1")
    assert status == 200 and out["buyout_price"] == 48_500 and out["status"] in ("closing", "closed"), out
    assert api.post(f"/v1/rentals/{rental['id']}/buyout", {}, token=token, key="buy-1") == (200, out)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (
        closed["status"],
        closed["outcome"],
        closed["rent_charged"],
        closed["deducted_amount"],
        closed["released_amount"],
    ) == ("closed", "bought_out", 1_500, 48_500, 0)
    assert closed["lines"] == [{"name": "rent", "amount": 1_500}, {"name": "buyout", "amount": 48_500}]
    assert_ledger(closed)
    assert provider_op(aws, f"{rental['id']}_buyout")["amount"] == 48_500
    assert provider_op(aws, f"{rental['id']}_release")["fulfilled"] is True
    m = me(api, token)
    assert (m["exposure"], m["on_time_count"]) == (0, 1)
    assert api.post(f"/v1/rentals/{rental['id']}/buyout", {}, token=token)[0] == 409
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 409


def test_a_buyout_of_a_cheap_item_costs_nothing_beyond_the_rent(client, aws):
    api = Api(client)
    token = api.member("pat:720")
    rental = active_rental(api, token, item_value=2_000, daily_rent=500, days=7)
    api.advance(5 * DAY)
    status, out = api.post(f"/v1/rentals/{rental['id']}/buyout", {}, token=token)
    assert (status, out["buyout_price"]) == (200, 0)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["outcome"], closed["rent_charged"], closed["released_amount"]) == ("bought_out", 2_000, 0)
    assert_ledger(closed)


# -- inspection hold and damage -----------------------------------------------------------------------------
def test_a_digital_item_is_held_72_hours_for_inspection_and_then_released_by_the_timer(client, aws):
    api = Api(client)
    token = api.member("quin:720")
    rental = active_rental(api, token, scenario="digital", days=7)
    api.advance(3 * DAY + 60)
    status, out = api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    assert (status, out["status"]) == (200, "inspecting") and out["inspection_until"] > out["returned_at"]
    api.advance(71 * 3600)
    api.run_jobs()
    assert _get(api, token, rental["id"])["status"] == "inspecting"
    assert me(api, token)["exposure"] == 50_000  # still frozen
    api.advance(3600)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["status"], closed["outcome"], closed["rent_charged"], closed["released_amount"]) == (
        "closed",
        "returned",
        2_000,
        48_000,
    )  # rent for the days used, not the inspection
    assert provider_op(aws, f"{rental['id']}_release")["fulfilled"] is True
    assert "inspecting" in audit_actions(aws, rental["id"])


def test_books_have_no_inspection_hold(client, aws):
    api = Api(client)
    token = api.member("rae:720")
    rental = active_rental(api, token, scenario="books")
    status, out = api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    assert (status, out["status"], out["inspection_until"]) == (200, "returned", None)


def test_damage_lines_with_evidence_are_taken_at_close_and_shown_as_lines(client, aws):
    api = Api(client)
    token = api.member("sol:720")
    rental = active_rental(api, token, scenario="clothing", days=7)
    api.advance(2 * DAY + 60)
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[1]["status"] == "inspecting"
    body = {
        "lines": [{"name": "damage", "amount": 3_000, "note": "torn sleeve"}, {"name": "cleaning", "amount": 500}],
        "evidence": ["https://img.example.com/1.jpg"],
    }
    status, out = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", body)
    assert status == 201 and out["deducted_amount"] == 3_500 and out["damage"]["total"] == 3_500, out
    assert out["damage"]["evidence"] == ["https://img.example.com/1.jpg"]
    assert provider_op(aws, f"{rental['id']}_ded1") is None  # taken at close, not now
    api.advance(DAY)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (1_500, 3_500, 45_000)
    assert closed["lines"] == [
        {"name": "rent", "amount": 1_500},
        {"name": "damage", "amount": 3_000},
        {"name": "cleaning", "amount": 500},
    ]
    assert_ledger(closed)
    assert (provider_op(aws, f"{rental['id']}_ded1")["amount"], provider_op(aws, f"{rental['id']}_ded2")["amount"]) == (
        3_000,
        500,
    )
    status, out = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", body)
    assert (status, out["error"]["code"]) == (409, "invalid_state")


def test_damage_beyond_what_is_still_frozen_or_malformed_is_refused(client, aws):
    api = Api(client)
    token = api.member("tam:720")
    rental = active_rental(api, token, item_value=5_000)
    path = f"/v1/admin/rentals/{rental['id']}/damages"
    status, out = api.admin("POST", path, {"lines": [{"name": "damage", "amount": 5_001}], "evidence": []})
    assert (status, out["error"]["code"]) == (409, "freeze_insufficient")
    for bad in (
        {"lines": []},
        {"lines": [{"name": "scratch", "amount": 1}]},
        {"lines": [{"name": "damage", "amount": 0}]},
        {"lines": [{"name": "damage", "amount": 1}], "evidence": ["not a link"]},
    ):
        assert api.admin("POST", path, bad)[0] == 400, bad
    assert (
        api.admin("POST", "/v1/admin/rentals/rt_nope/damages", {"lines": [{"name": "damage", "amount": 1}]})[0] == 404
    )
    assert api.admin("POST", path, {"lines": [{"name": "lost_accessory", "amount": 5_000}]})[0] == 201
    status, out = api.admin("POST", path, {"lines": [{"name": "cleaning", "amount": 1}]})
    assert (status, out["error"]["code"]) == (409, "freeze_insufficient")


# -- disputes -------------------------------------------------------------------------------------------------
def _damaged_and_closed(api, token, name="uma:720"):
    rental = active_rental(api, token, scenario="clothing", days=7)
    api.advance(DAY)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    body = {
        "lines": [{"name": "damage", "amount": 3_000}, {"name": "cleaning", "amount": 500}],
        "evidence": ["https://img.example.com/stain.jpg"],
    }
    assert api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", body)[0] == 201
    api.advance(DAY)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert closed["status"] == "closed"
    return closed


def _dispute_review(api, rid):
    items = api.admin("GET", "/v1/admin/reviews?status=pending")[1]["items"]
    return next(r for r in items if r["ref_id"] == f"dispute_{rid}")


def test_an_upheld_dispute_refunds_the_disputed_lines_once(client, aws):
    api = Api(client)
    token = api.member("uma:720")
    closed = _damaged_and_closed(api, token)
    status, out = api.post(
        f"/v1/rentals/{closed['id']}/disputes", {"reason": "the stain was there before"}, token=token, key="d-1"
    )
    assert status == 201 and out["status"] == "open" and out["respond_by"] > closed["closed_at"], out
    assert out["amount"] == 3_500
    assert api.post(
        f"/v1/rentals/{closed['id']}/disputes", {"reason": "the stain was there before"}, token=token, key="d-1"
    ) == (201, out)
    status, again = api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": "again"}, token=token)
    assert (status, again["error"]["code"]) == (409, "invalid_state")
    review = _dispute_review(api, closed["id"])
    assert (review["kind"], review["evidence"]["links"]) == ("dispute", ["https://img.example.com/stain.jpg"])
    assert api.admin("POST", f"/v1/admin/reviews/{review['id']}/approve", {})[0] == 200
    assert api.admin("POST", f"/v1/admin/reviews/{review['id']}/approve", {})[0] == 409
    api.run_jobs()
    after = _get(api, token, closed["id"])
    assert (after["dispute_status"], after["refunded_amount"]) == ("upheld", 3_500)
    assert (
        provider_op(aws, f"{closed['id']}_dref1")["amount"],
        provider_op(aws, f"{closed['id']}_dref2")["amount"],
    ) == (3_000, 500)
    # each refund names the capture that took its line, never the freeze
    refs = [provider_op(aws, f"{closed['id']}_dref{n}")["charge_ref"] for n in (1, 2)]
    assert all(ref.startswith(f"sbx-capture-{closed['id']}_ded") for ref in refs) and refs[0] != refs[1], refs
    assert_ledger(after)  # the close's ledger stands; the refund is its own fact
    _, full = api.admin("GET", f"/v1/admin/rentals/{closed['id']}")
    assert sorted(f["amount"] for f in full["money"] if f["kind"] == "refund") == [500, 3_000]
    assert {"disputed", "dispute_upheld", "dispute_refunded"} <= set(audit_actions(aws, closed["id"]))


def test_a_rejected_dispute_stands_and_disputes_close_after_seven_days(client, aws):
    api = Api(client)
    token = api.member("vic:720")
    closed = _damaged_and_closed(api, token)
    assert api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": ""}, token=token)[0] == 400
    assert api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": "x"}, token=api.member("wes:720"))[0] == 404
    status, out = api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": "not mine"}, token=token)
    assert status == 201
    review = _dispute_review(api, closed["id"])
    assert api.admin("POST", f"/v1/admin/reviews/{review['id']}/reject", {})[0] == 200
    api.run_jobs()
    after = _get(api, token, closed["id"])
    assert (after["dispute_status"], after["refunded_amount"]) == ("rejected", 0)
    assert provider_op(aws, f"{closed['id']}_dref1") is None
    late = _damaged_and_closed(api, token)
    api.advance(7 * DAY + 60)
    status, out = api.post(f"/v1/rentals/{late['id']}/disputes", {"reason": "late"}, token=token)
    assert (status, out["error"]["code"]) == (409, "invalid_state")
    active = active_rental(api, token, item_id="x")
    assert api.post(f"/v1/rentals/{active['id']}/disputes", {"reason": "x"}, token=token)[0] == 409


def test_a_dispute_refund_the_provider_failed_is_retried_by_the_timer_and_paid_once(client, aws, monkeypatch):
    from chalicelib.providers.sandbox import SandboxProvider

    api = Api(client)
    token = api.member("xia:720")
    closed = _damaged_and_closed(api, token)
    api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": "no"}, token=token)
    real = SandboxProvider.refund

    def down(self, *args, **kwargs):
        raise ConnectionError("provider unreachable")

    monkeypatch.setattr(SandboxProvider, "refund", down)
    review = _dispute_review(api, closed["id"])
    assert api.admin("POST", f"/v1/admin/reviews/{review['id']}/approve", {})[0] == 200
    assert _get(api, token, closed["id"])["dispute_status"] == "refunding"
    monkeypatch.setattr(SandboxProvider, "refund", real)
    api.run_jobs()
    assert _get(api, token, closed["id"])["dispute_status"] == "refunding"  # the timer is not due yet
    api.advance(16 * 60)
    api.run_jobs()
    api.advance(16 * 60)
    api.run_jobs()
    after = _get(api, token, closed["id"])
    assert (after["dispute_status"], after["refunded_amount"]) == ("upheld", 3_500)
    _, full = api.admin("GET", f"/v1/admin/rentals/{closed['id']}")
    assert [f["amount"] for f in full["money"] if f["kind"] == "refund"] in ([3_000, 500], [500, 3_000])


def test_a_buyout_whose_provider_answer_is_lost_stays_closing_and_the_timer_finishes_it_once(client, aws, monkeypatch):
    from chalicelib.providers.sandbox import SandboxProvider

    api = Api(client)
    token = api.member("yan:720")
    rental = active_rental(api, token, item_value=20_000, daily_rent=500, days=7)
    real = SandboxProvider.capture_from_freeze

    def lost(self, out_request_no, *args, **kwargs):
        real(self, out_request_no, *args, **kwargs)  # the provider took it, but its answer never came back
        raise TimeoutError("read timed out")

    monkeypatch.setattr(SandboxProvider, "capture_from_freeze", lost)
    status, out = api.post(f"/v1/rentals/{rental['id']}/buyout", {}, token=token)
    assert (status, out["status"], out["buyout_price"]) == (200, "closing", 19_500)
    assert _get(api, token, rental["id"])["status"] == "closing"
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 409
    monkeypatch.setattr(SandboxProvider, "capture_from_freeze", real)
    api.advance(16 * 60)
    api.run_jobs()
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (
        closed["status"],
        closed["outcome"],
        closed["rent_charged"],
        closed["deducted_amount"],
        closed["released_amount"],
    ) == ("closed", "bought_out", 500, 19_500, 0)
    assert provider_op(aws, f"{rental['id']}_buyout")["amount"] == 19_500  # one capture under one number
    assert me(api, token)["exposure"] == 0


def test_the_dashboard_lists_rentals_in_inspection_and_flags_unanswered_disputes_past_respond_by(client, aws):
    api = Api(client)
    token = api.member("zed:720")
    held = active_rental(api, token, scenario="digital", days=7)
    api.post(f"/v1/rentals/{held['id']}/return", {}, token=token)
    status, out = api.admin("GET", "/v1/admin/rentals/attention")
    assert status == 200 and [r["rental_id"] for r in out["inspecting"]] == [held["id"]]
    closed = _damaged_and_closed(api, token)
    api.post(f"/v1/rentals/{closed['id']}/disputes", {"reason": "no"}, token=token)
    api.advance(2 * DAY)
    api.run_jobs()
    out = api.admin("GET", "/v1/admin/rentals/attention")[1]
    assert out["inspecting"] == [] and _get(api, token, held["id"])["status"] == "closed"  # the 72 h hold ended
    assert [(d["rental_id"], d["overdue"]) for d in out["disputes"]] == [(closed["id"], False)]
    api.advance(7 * DAY + 60)
    out = api.admin("GET", "/v1/admin/rentals/attention")[1]
    assert ([d["overdue"] for d in out["disputes"]], out["overdue_disputes"]) == ([True], 1)
    review = _dispute_review(api, closed["id"])
    api.admin("POST", f"/v1/admin/reviews/{review['id']}/reject", {})
    assert api.admin("GET", "/v1/admin/rentals/attention")[1]["disputes"] == []
    assert api.call("GET", "/v1/admin/rentals/attention")[0] == 401


def test_damage_racing_the_settlement_is_either_in_the_close_or_refused_never_lost(client, aws):
    from chalicelib.services.rentals import settlement, store

    api = Api(client)
    token = api.member("abe:720")
    rental = active_rental(api, token, days=7)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)  # books: settled at once by the worker
    stale = store.get(aws.table, rental["id"])  # the worker read the rental ...
    body = {"lines": [{"name": "damage", "amount": 2_000}]}
    assert api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", body)[0] == 201  # ... then damage landed
    fixed = settlement._start_settling(aws, stale, aws.clock.now(), "settling")
    assert fixed is not None and int(fixed["deducted_amount"]) == 2_000  # its moment holds the damage line
    status, out = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", body)
    assert (status, out["error"]["code"]) == (409, "invalid_state")  # after the moment: refused
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (500, 2_000, 47_500)
    assert closed["lines"] == [{"name": "rent", "amount": 500}, {"name": "damage", "amount": 2_000}]
    assert (
        provider_op(aws, f"{rental['id']}_ded1")["amount"] == 2_000 and provider_op(aws, f"{rental['id']}_ded2") is None
    )
