"""Worker failures: a provider error leaves the rental consistent and the message retried; a message that
keeps failing lands in the dead-letter queue without blocking the others. Reviews resolved by operators."""

from __future__ import annotations

import json

from chalicelib.domain.errors import ProviderError
from chalicelib.jobs.runner import handle_record
from chalicelib.providers.sandbox import SandboxProvider
from chalicelib.services import tables
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api
from tests.rental_helpers import active_rental, assert_ledger, me, provider_op, rent

QUEUE = "rental-settlements"


def _deliver(aws, queue: str, rounds: int = 8) -> tuple[int, int]:
    """Receive every visible message (made visible again at once when it fails), like Lambda retries."""
    done = failed = 0
    for _ in range(rounds):
        messages = aws.queues.receive(queue, max_messages=10, visibility=0)
        if not messages:
            break
        for msg in messages:
            try:
                handle_record(queue, json.loads(msg["Body"]), aws)
                aws.queues.delete(queue, msg["ReceiptHandle"])
                done += 1
            except Exception:  # noqa: BLE001 - left for a retry
                failed += 1
    return done, failed


def _returned(api, token, **over):
    rental = active_rental(api, token, **over)
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    return rental


def test_a_provider_error_leaves_the_rental_returned_and_the_retry_moves_money_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("lena:720")
    rental = _returned(api, token)
    real_release = SandboxProvider.release

    def failing_release(self, *args, **kwargs):
        raise ProviderError("provider timeout")

    monkeypatch.setattr(SandboxProvider, "release", failing_release)
    done, failed = _deliver(aws, QUEUE, rounds=1)
    assert (done, failed) == (0, 1)
    held = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert held["status"] == "returned" and held["released_amount"] is None
    assert me(api, token)["exposure"] == 50_000  # nothing half-written
    assert provider_op(aws, f"{rental['id']}_rent")["amount"] == 500  # taken before the failure (1 day used)
    monkeypatch.setattr(SandboxProvider, "release", real_release)
    assert _deliver(aws, QUEUE) == (1, 0)  # the same message, retried
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert closed["status"] == "closed" and closed["rent_charged"] == 500
    assert_ledger(closed)
    assert provider_op(aws, f"{rental['id']}_rent")["amount"] == 500
    assert me(api, token)["exposure"] == 0


def test_a_message_that_keeps_failing_is_dead_lettered_and_does_not_block_the_rest(client, aws, monkeypatch):
    api = Api(client)
    bad_token, good_token = api.member("mona:720"), api.member("nils:720")
    bad, good = active_rental(api, bad_token), active_rental(api, good_token)
    real_release = SandboxProvider.release

    def release_except_bad(self, out_request_no, *args, **kwargs):
        if out_request_no.startswith(bad["id"]):
            raise ProviderError("this freeze is stuck")
        return real_release(self, out_request_no, *args, **kwargs)

    monkeypatch.setattr(SandboxProvider, "release", release_except_bad)
    for rental, token in ((bad, bad_token), (good, good_token)):
        assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    done, failed = _deliver(aws, QUEUE, rounds=10)
    assert done == 1 and failed == 5  # maxReceiveCount 5, then the dead-letter queue
    assert api.get(f"/v1/rentals/{good['id']}", token=good_token)[1]["status"] == "closed"
    assert api.get(f"/v1/rentals/{bad['id']}", token=bad_token)[1]["status"] == "returned"
    dead = aws.queues.receive(QUEUE, max_messages=10, dlq=True)
    assert [json.loads(m["Body"]) for m in dead] == [{"rental_id": bad["id"]}]
    assert aws.queues.receive(QUEUE, max_messages=10, visibility=0) == []


def _review(aws, api, token):
    _, out = rent(api, token, item_value=250_000)
    assert out["status"] == "review"
    return out, aws.table.get(f"REVIEW#rv_{out['id']}", "REVIEW")


def _resolve(aws, review, approved):
    uow = UnitOfWork(aws.table, aws.clock.now(), "admin", aws.queues.send)
    tables.RESOLVERS["rental"](aws, uow, review, approved)
    uow.commit()


def test_an_approved_review_continues_as_freshly_decided(client, aws):
    api = Api(client)
    token = api.member("olga:720")
    out, review = _review(aws, api, token)
    assert me(api, token)["exposure"] == 250_000
    _resolve(aws, review, True)
    continued = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (continued["decision"], continued["status"], continued["frozen_amount"]) == (
        "deposit_free",
        "pending_freeze",
        250_000,
    )
    api.run_jobs()
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    assert me(api, token)["exposure"] == 250_000


def test_a_rejected_review_gives_the_exposure_back(client, aws):
    api = Api(client)
    token = api.member("pete:720")
    out, review = _review(aws, api, token)
    _resolve(aws, review, False)
    rejected = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (rejected["status"], rejected["reason"]) == ("rejected", "review_rejected")
    assert me(api, token)["exposure"] == 0


def test_an_approved_review_below_the_threshold_requires_a_deposit(client, aws):
    api = Api(client)
    token = api.member("rosa:620")  # below clothing's 650: deposit required
    for i in range(2):
        assert rent(api, token, scenario="clothing", item_id=f"c{i}")[1]["status"] == "awaiting_deposit"
    _, out = rent(api, token, scenario="clothing", item_id="c3")  # third within the hour
    assert (out["status"], out["reason"]) == ("review", "risk_rule:velocity")
    assert me(api, token)["exposure"] == 50_000
    _resolve(aws, aws.table.get(f"REVIEW#rv_{out['id']}", "REVIEW"), True)
    continued = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (continued["status"], continued["deposit_amount"], continued["frozen_amount"]) == (
        "awaiting_deposit",
        50_000,
        0,
    )
    assert me(api, token)["exposure"] == 0


def test_a_deduction_whose_capture_failed_is_taken_at_settlement_before_the_release(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("sami:720")
    rental = active_rental(api, token, item_value=10_000, daily_rent=100, days=5)
    real_capture = SandboxProvider.capture_from_freeze

    def down(self, *args, **kwargs):
        raise ConnectionError("provider unreachable")

    monkeypatch.setattr(SandboxProvider, "capture_from_freeze", down)
    status, out = api.admin(
        "POST", f"/v1/admin/rentals/{rental['id']}/deductions", {"amount": 3_000, "reason": "lost charger"}
    )
    assert status == 201 and out["deducted_amount"] == 3_000  # recorded; the capture is re-driven
    assert provider_op(aws, f"{rental['id']}_ded1") is None
    monkeypatch.setattr(SandboxProvider, "capture_from_freeze", real_capture)
    api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    # returned within its first day: one day's rent
    assert (closed["rent_charged"], closed["deducted_amount"], closed["released_amount"]) == (100, 3_000, 6_900)
    assert closed["lines"] == [{"name": "rent", "amount": 100}, {"name": "damage", "amount": 3_000}]
    assert provider_op(aws, f"{rental['id']}_ded1")["amount"] == 3_000
    assert provider_op(aws, f"{rental['id']}_release")["amount"] == 6_900
