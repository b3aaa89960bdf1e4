"""Whole rental journeys across routes, notifications, sweeps and workers, with the clock moved."""

from __future__ import annotations

import json

from chalicelib.jobs.runner import handle_record
from chalicelib.services.rentals import settlement as rental_settlement
from tests.helpers import Api, sweep_due
from tests.rental_helpers import DAY, active_rental, assert_ledger, audit_actions, me, provider_op, provider_ops, rent


def _get(api, token, rid):
    return api.get(f"/v1/rentals/{rid}", token=token)[1]


def test_deposit_free_rental_returned_on_time(client, aws):
    api = Api(client)
    token = api.member("alice:720")
    rental = active_rental(api, token)
    assert rental["freeze_expires_at"] > rental["due_at"]
    api.advance(5 * DAY)
    status, out = api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    assert status == 200 and out["status"] == "returned"
    assert api.run_jobs()["rental-settlements"] == 1
    closed = _get(api, token, rental["id"])
    assert (closed["status"], closed["outcome"]) == ("closed", "returned")
    # back early, in the 6th day of 7: rent for the 6 days begun (PRODUCT.md 2a early return)
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (3_000, 0, 47_000)
    assert_ledger(closed)
    m = me(api, token)
    assert (m["exposure"], m["on_time_count"], m["default_count"], m["blacklisted"]) == (0, 1, 0, False)
    ops = provider_ops(aws, rental["id"])
    assert (ops["rent"]["amount"], ops["release"]["amount"], ops["release"]["fulfilled"]) == (3_000, 47_000, True)


def test_deposit_required_rental_is_refunded_at_close(client, aws):
    api = Api(client)
    token = api.member("bob:620")
    status, out = rent(api, token, scenario="clothing")
    assert out["status"] == "awaiting_deposit"
    api.run_jobs()  # the provider reports the deposit paid
    assert _get(api, token, out["id"])["status"] == "active"
    api.advance(7 * DAY)
    api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)
    assert _get(api, token, out["id"])["status"] == "inspecting"  # clothing: held 24 h for inspection
    api.advance(DAY)
    api.run_jobs()
    closed = _get(api, token, out["id"])
    assert (closed["status"], closed["outcome"], closed["rent_charged"], closed["released_amount"]) == (
        "closed",
        "returned",
        3_500,
        46_500,
    )
    assert_ledger(closed)
    assert provider_op(aws, f"{out['id']}_release")["kind"] == "refund"
    assert me(api, token)["on_time_count"] == 1


def test_a_refused_freeze_rejects_the_rental_and_gives_the_exposure_back(client, aws):
    api = Api(client)
    token = api.member("carol:760:freeze_fails")
    status, out = rent(api, token)
    assert out["status"] == "pending_freeze" and me(api, token)["exposure"] == 50_000
    api.run_jobs()
    rejected = _get(api, token, out["id"])
    assert (rejected["status"], rejected["reason"]) == ("rejected", "freeze_refused")
    assert me(api, token)["exposure"] == 0
    api.run_jobs()
    assert me(api, token)["exposure"] == 0


def test_overdue_default_then_blacklisted_everywhere(client, aws):
    api = Api(client)
    token = api.member("dave:720")
    rental = active_rental(api, token, days=3)
    api.advance(4 * DAY - 60)  # within the grace day: nothing yet
    assert api.run_jobs().get("rental-timers", 0) == 0
    api.advance(2 * 3600)  # past due + 1 day: 1 day 1 hour late -> 2 days of fee
    processed = api.run_jobs()
    assert processed["rental-timers"] == 1  # the one due rental, found by its shard's reader
    closed = _get(api, token, rental["id"])
    assert (closed["status"], closed["outcome"]) == ("closed", "defaulted")
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (1_500, 1_000, 47_500)
    assert_ledger(closed)
    m = me(api, token)
    assert (m["blacklisted"], m["default_count"], m["exposure"], m["on_time_count"]) == (True, 1, 0, 0)
    assert provider_op(aws, f"{rental['id']}_release")["fulfilled"] is False
    member = aws.table.get(f"MEMBER#{m['member_id']}", "MEMBER")
    assert member["blacklist_reason"] == "default"
    status, out = rent(api, token, item_id="next")
    assert (out["decision"], out["reason"]) == ("rejected", "blacklisted")
    assert api.run_jobs().get("rental-timers", 0) == 0  # the sweep finds nothing any more
    assert _get(api, token, rental["id"]) == closed
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 409


def test_an_overdue_fee_is_capped_at_the_frozen_amount(client, aws):
    api = Api(client)
    token = api.member("erin:720")
    rental = active_rental(api, token, item_value=5_000, daily_rent=500, days=2)
    api.advance(40 * DAY)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (1_000, 4_000, 0)
    assert provider_op(aws, f"{rental['id']}_release")["fulfilled"] is False  # a default is never kept


def test_a_defaulted_deposit_free_rental_is_never_reported_fulfilled(client, aws):
    api = Api(client)
    token = api.member("otto:720")
    rental = active_rental(api, token, days=3)
    api.advance(5 * DAY)
    api.run_jobs()
    assert _get(api, token, rental["id"])["outcome"] == "defaulted"
    ops = provider_ops(aws, rental["id"])
    assert ops["release"]["fulfilled"] is False and "fulfil" not in ops


def test_sweeps_workers_and_messages_repeated_change_nothing(client, aws):
    api = Api(client)
    token = api.member("finn:720")
    rental = active_rental(api, token)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    aws.queues.send("rental-settlements", {"rental_id": rental["id"]})  # the same message delivered twice
    processed = api.run_jobs()
    assert processed["rental-settlements"] == 2
    first = _get(api, token, rental["id"])
    assert rental_settlement.settle_returned(aws, rental["id"]) == "nothing_to_do"
    handle_record("rental-settlements", {"rental_id": rental["id"]}, aws)
    api.run_jobs()
    api.run_jobs()
    assert _get(api, token, rental["id"]) == first
    m = me(api, token)
    assert (m["exposure"], m["on_time_count"]) == (0, 1)
    _, full = api.admin("GET", f"/v1/admin/rentals/{rental['id']}")
    assert [f["kind"] for f in full["money"]] == ["rent", "release"]
    assert audit_actions(aws, rental["id"]).count("closed") == 1


def test_a_notification_delivered_three_times_has_one_effect(client, aws):
    from chalicelib.services import callbacks

    api = Api(client)
    token = api.member("gwen:720")
    _, out = rent(api, token)
    messages = aws.queues.receive("sandbox-notifications", max_messages=10)
    bodies = [json.loads(m["Body"])["body"] for m in messages]
    assert len(bodies) == 1
    provider = aws.provider("sandbox")
    for _ in range(3):
        raw = bodies[0].encode()
        ack = callbacks.handle(aws, "sandbox", provider.signed_headers(raw), raw)
        assert ack.status == 200
    assert _get(api, token, out["id"])["status"] == "active"
    assert audit_actions(aws, out["id"]).count("active") == 1
    failed = json.dumps({"id": "ntf-refused-late", "kind": "freeze.failed", "out_request_no": f"{out['id']}_freeze"})
    callbacks.handle(aws, "sandbox", provider.signed_headers(failed.encode()), failed.encode())
    assert _get(api, token, out["id"])["status"] == "active"  # forward only
    assert me(api, token)["exposure"] == 50_000


def test_a_lost_freeze_callback_is_reconciled_after_15_minutes(client, aws):
    api = Api(client)
    token = api.member("hugo:720")
    _, out = rent(api, token)
    for m in aws.queues.receive("sandbox-notifications", max_messages=10):  # the callback is lost
        aws.queues.delete("sandbox-notifications", m["ReceiptHandle"])
    api.advance(10 * 60)
    assert api.run_jobs().get("rental-timers", 0) == 0
    assert _get(api, token, out["id"])["status"] == "pending_freeze"
    api.advance(6 * 60)
    assert api.run_jobs()["rental-timers"] == 1
    active = _get(api, token, out["id"])
    assert active["status"] == "active" and active["freeze_expires_at"]
    assert "reconciled" in audit_actions(aws, out["id"])


def test_a_freeze_the_provider_never_saw_is_asked_again(client, aws, monkeypatch):
    from chalicelib.providers.sandbox import SandboxProvider

    api = Api(client)
    token = api.member("ivo:720")

    def down(*args, **kwargs):
        raise ConnectionError("provider unreachable")

    with monkeypatch.context() as m:
        m.setattr(SandboxProvider, "freeze", down)
        status, out = rent(api, token)
    assert status == 201 and out["status"] == "pending_freeze"  # committed; the request is re-sent later
    assert provider_op(aws, f"{out['id']}_freeze") is None
    api.advance(16 * 60)
    api.run_jobs()  # reconciliation: never seen -> asked again; its answer arrives in the same run
    assert _get(api, token, out["id"])["status"] == "active"


def test_a_long_rental_renews_its_freeze_before_it_lapses(client, aws):
    api = Api(client)
    token = api.member("jade:720")
    rental = active_rental(api, token, days=120, daily_rent=100)
    first_expiry = rental["freeze_expires_at"]
    api.advance(89 * DAY + 60)
    api.run_jobs()
    renewed = _get(api, token, rental["id"])
    assert renewed["status"] == "active" and renewed["freeze_expires_at"] > first_expiry
    assert renewed["freeze_expires_at"] > renewed["due_at"]
    actions = audit_actions(aws, rental["id"])
    assert "freeze_renewal_requested" in actions and "freeze_renewed" in actions
    assert provider_op(aws, f"{rental['id']}_renew1")["amount"] == 50_000
    api.advance(30 * DAY)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["outcome"], closed["rent_charged"]) == ("returned", 12_000)
    assert provider_op(aws, f"{rental['id']}_release")["freeze_ref"].endswith("_renew1")


def test_a_freeze_that_cannot_be_renewed_is_settled_before_it_lapses(client, aws):
    api = Api(client)
    token = api.member("kira:720")
    rental = active_rental(api, token, days=120, daily_rent=100)
    api.sign_in("kira:720:freeze_fails")  # the provider will now refuse any new freeze
    api.advance(89 * DAY + 60)
    api.run_jobs()
    settled = _get(api, token, rental["id"])
    assert (settled["status"], settled["outcome"]) == ("closed", "settled")
    assert (settled["rent_charged"], settled["released_amount"]) == (12_000, 38_000)
    assert_ledger(settled)
    assert "settled_on_lapse" in audit_actions(aws, rental["id"])
    m = me(api, token)
    assert (m["exposure"], m["blacklisted"]) == (0, False)


def test_an_overdue_rental_enqueued_twice_defaults_once(client, aws):

    api = Api(client)
    token = api.member("lars:720")
    rental = active_rental(api, token, days=2)
    api.advance(3 * DAY + 60)
    assert sweep_due(aws, "deduct_overdue_rentals") == 1 and sweep_due(aws, "deduct_overdue_rentals") == 1  # twice
    processed = api.run_jobs()
    assert processed["rental-timers"] == 3  # the two above and the run's own sweep
    closed = _get(api, token, rental["id"])
    assert closed["outcome"] == "defaulted"
    handle_record("rental-timers", {"pk": f"RENTAL#{rental['id']}", "sk": "RENTAL"}, aws)
    assert _get(api, token, rental["id"]) == closed
    m = me(api, token)
    assert (m["default_count"], m["exposure"]) == (1, 0)
    assert provider_op(aws, f"{rental['id']}_overdue")["amount"] == closed["deducted_amount"] == 1_000
    assert audit_actions(aws, rental["id"]).count("closed") == 1


def test_a_lost_settlement_message_is_caught_by_the_timer(client, aws):
    api = Api(client)
    token = api.member("mila:720")
    rental = active_rental(api, token)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    for m in aws.queues.receive("rental-settlements", max_messages=10):
        aws.queues.delete("rental-settlements", m["ReceiptHandle"])
    assert api.run_jobs().get("rental-settlements", 0) == 0
    assert _get(api, token, rental["id"])["status"] == "returned"
    api.advance(16 * 60)
    assert api.run_jobs()["rental-timers"] == 1
    closed = _get(api, token, rental["id"])
    assert (closed["status"], closed["outcome"]) == ("closed", "returned")


def test_a_late_return_pays_the_overdue_fee_without_a_default(client, aws):
    api = Api(client)
    token = api.member("nora:720")
    rental = active_rental(api, token, days=3)
    api.advance(4 * DAY + 3600)  # past due + grace, before the sweep got to it
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["outcome"], closed["rent_charged"], closed["deducted_amount"]) == ("returned", 1_500, 1_000)
    assert_ledger(closed)
    assert provider_op(aws, f"{rental['id']}_release")["fulfilled"] is False  # late: not a kept promise
    m = me(api, token)
    assert (m["on_time_count"], m["default_count"], m["blacklisted"]) == (0, 0, False)


def test_a_refusal_posted_three_times_to_the_callback_route_releases_the_exposure_once(client, aws):
    api = Api(client)
    token = api.member("omar:720:freeze_fails")
    api.member("omar:720")  # the same member, whose other rental stays live
    live = active_rental(api, token, item_id="kept")
    api.sign_in("omar:720:freeze_fails")
    _, out = rent(api, token)
    assert me(api, token)["exposure"] == 100_000
    raw = json.loads(aws.queues.receive("sandbox-notifications", max_messages=10)[0]["Body"])["body"].encode()
    headers = {"Content-Type": "application/json", **aws.provider("sandbox").signed_headers(raw)}
    for _ in range(3):
        r = client.http.post("/v1/callbacks/sandbox", headers=headers, body=raw)
        assert r.status_code == 200
    assert _get(api, token, out["id"])["status"] == "rejected"
    assert me(api, token)["exposure"] == 50_000  # given back once; the live rental's part stays
    assert audit_actions(aws, out["id"]).count("rejected") == 1
    bad = client.http.post("/v1/callbacks/sandbox", headers={**headers, "x-sandbox-signature": "0" * 64}, body=raw)
    assert bad.status_code == 401
    assert _get(api, token, live["id"])["status"] == "active"


def test_a_return_while_the_renewal_is_in_flight_releases_the_renewal_freeze_whole(client, aws):

    api = Api(client)
    token = api.member("pia:720")
    rental = active_rental(api, token, days=120, daily_rent=100)
    api.advance(89 * DAY + 60)
    sweep_due(aws, "deduct_overdue_rentals")
    for m in aws.queues.receive("rental-timers", max_messages=10):  # only the timer worker runs
        handle_record("rental-timers", json.loads(m["Body"]), aws)
        aws.queues.delete("rental-timers", m["ReceiptHandle"])
    for m in aws.queues.receive("sandbox-notifications", max_messages=10):  # its answer is not delivered yet
        aws.queues.delete("sandbox-notifications", m["ReceiptHandle"])
    assert provider_op(aws, f"{rental['id']}_renew1")["amount"] == 50_000
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert (closed["status"], closed["rent_charged"], closed["released_amount"]) == (
        "closed",
        9_000,
        41_000,
    )  # 90 days begun
    assert provider_op(aws, f"{rental['id']}_renewx1")["amount"] == 50_000
    assert provider_op(aws, f"{rental['id']}_release")["freeze_ref"].endswith("_freeze")


def test_a_lost_deposit_callback_is_reconciled_after_15_minutes(client, aws):
    # found by tests/properties: the sandbox answered "pending" for a paid deposit forever
    api = Api(client)
    token = api.member("hana:610")  # below digital's threshold: deposit required
    _, out = rent(api, token, scenario="digital", item_value=20_000)
    assert out["status"] == "awaiting_deposit", out
    for m in aws.queues.receive("sandbox-notifications", max_messages=10):  # the callback is lost
        aws.queues.delete("sandbox-notifications", m["ReceiptHandle"])
    api.advance(16 * 60)
    api.run_jobs()
    active = _get(api, token, out["id"])
    assert active["status"] == "active" and active["deposit_amount"] == 20_000, active
    assert "reconciled" in audit_actions(aws, out["id"])
