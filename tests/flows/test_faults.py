"""Fault injection at the boundaries (the provider, the table, the queues): each fault ends consistent —
reconciled, retried or dead-lettered — with money moved once by the sandbox provider's ledger.

Covered elsewhere, not repeated here: a provider error BEFORE the money (test_rental_failures.py), a
worker lost between claim and record of an order charge and concurrent confirm/cancel/refund
(test_order_races.py), a settlement message that keeps failing (test_rental_failures.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from botocore.exceptions import ClientError

from chalicelib.domain.errors import ProviderError
from chalicelib.jobs.runner import handle_batch
from chalicelib.jobs.tables import WORKERS
from chalicelib.providers.sandbox import SandboxProvider
from chalicelib.services.orders.orders import order_key
from tests.flows import money
from tests.helpers import Api, Contention
from tests.rental_helpers import active_rental, assert_ledger, audit_actions, me, provider_op, rent

DAY = 86400
RECONCILE = 16 * 60  # past the 15 minutes after which a pending operation is reconciled


def _took_the_money_then_failed(monkeypatch, method: str, times: int = 1) -> list[str]:
    """The provider records the operation (the money moves), then the call raises as a timeout would."""
    real, failed = getattr(SandboxProvider, method), []

    def flaky(self, out_request_no, *args, **kwargs):
        result = real(self, out_request_no, *args, **kwargs)
        if len(failed) < times:
            failed.append(out_request_no)
            raise ProviderError("provider timed out")
        return result

    monkeypatch.setattr(SandboxProvider, method, flaky)
    return failed


def _order(api: Api, token: str, amount: int = 10_000) -> str:
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": amount}, token=token)
    assert status == 201 and out["status"] == "pending_charge", out
    return out["id"]


def _drop_queue(aws, queue: str) -> int:
    """Lose every message of a queue (a dead-lettered or dropped message): only the sweep can help now."""
    dropped = 0
    while msgs := aws.queues.receive(queue, max_messages=10, visibility=0):
        for m in msgs:
            aws.queues.delete(queue, m["ReceiptHandle"])
            dropped += 1
    return dropped


# -- the provider took the money, then timed out ------------------------------------------------------------
def test_an_order_charge_that_timed_out_after_charging_is_reconciled_once_by_the_sweep(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("fay:720")
    oid = _order(api, token)
    api.advance(15 * DAY)  # the trial is over: the charge is due
    failed = _took_the_money_then_failed(monkeypatch, "charge")
    api.run_jobs()
    assert failed == [f"{oid}_charge1"] and money.charged(aws, oid) == 10_000  # the provider has it
    item = aws.table.get(*order_key(oid))
    assert (item["status"], item["charge_state"], item["charged"]) == ("pending_charge", "charging", 0)
    _drop_queue(aws, "order-charges")  # the failed message is gone; the reconcile timer is not
    api.advance(RECONCILE)
    api.run_jobs()
    item = aws.table.get(*order_key(oid))
    assert (item["status"], item["charged"], item["charge_attempts"]) == ("charged", 10_000, 1)
    assert [o["out_request_no"] if "out_request_no" in o else o["pk"] for o in money.ops(aws, oid, "charge")] == [
        f"SBX#op#{oid}_charge1"
    ]
    assert money.paid(aws, oid) == 10_000 and me(api, token)["exposure"] == 0


def test_a_confirm_that_timed_out_after_charging_is_a_502_and_its_retry_charges_nothing_more(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("gus:720")
    oid = _order(api, token)
    _took_the_money_then_failed(monkeypatch, "charge")
    status, out = api.post(f"/v1/orders/{oid}/confirm", token=token, key="confirm-1")
    assert status == 502 and out["error"]["code"] == "provider_error", out
    assert money.charged(aws, oid) == 10_000
    assert api.get(f"/v1/orders/{oid}", token=token)[1]["status"] == "pending_charge"
    status, out = api.post(f"/v1/orders/{oid}/cancel", token=token)
    assert status == 409, out  # the money may be taken: no cancel while the charge is unresolved
    status, out = api.post(f"/v1/orders/{oid}/confirm", token=token, key="confirm-1")  # the client retries
    assert status == 200 and out["status"] == "charged", out
    assert len(money.ops(aws, oid, "charge")) == 1 and money.paid(aws, oid) == 10_000
    assert me(api, token)["exposure"] == 0


def _returned(api: Api, token: str) -> dict:
    rental = active_rental(api, token)  # item_value 50_000, rent 500 a day; back within its first day: 500
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    return rental


def _settled_once_after(aws, api, token, rental, monkeypatch, method: str) -> None:
    failed = _took_the_money_then_failed(monkeypatch, method)
    api.run_jobs()
    assert len(failed) == 1
    held = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert held["status"] == "returned" and held["released_amount"] is None  # nothing half-written
    assert me(api, token)["exposure"] == 50_000
    _drop_queue(aws, "rental-settlements")  # the settlement message is lost: the rental timer re-drives it
    api.advance(RECONCILE)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert (closed["status"], closed["rent_charged"], closed["released_amount"]) == ("closed", 500, 49_500)
    assert_ledger(closed)
    rent, release = provider_op(aws, f"{rental['id']}_rent"), provider_op(aws, f"{rental['id']}_release")
    assert (rent["amount"], release["amount"]) == (500, 49_500)  # one record per request number: once each
    assert me(api, token)["exposure"] == 0


def test_a_release_that_timed_out_after_releasing_is_settled_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("hal:720")
    _settled_once_after(aws, api, token, _returned(api, token), monkeypatch, "release")


def test_a_rent_capture_that_timed_out_after_capturing_is_settled_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("ida:720")
    _settled_once_after(aws, api, token, _returned(api, token), monkeypatch, "capture_from_freeze")


def _charged(api: Api, token: str) -> str:
    oid = _order(api, token)
    status, out = api.post(f"/v1/orders/{oid}/confirm", token=token)
    assert status == 200 and out["status"] == "charged", out
    return oid


def test_a_refund_that_timed_out_after_paying_back_is_finished_by_the_retry_not_paid_twice(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("jon:720")
    oid = _charged(api, token)
    _took_the_money_then_failed(monkeypatch, "refund")
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token, key="refund-1")
    assert status == 502 and out["error"]["code"] == "provider_error", out
    assert money.refunded(aws, oid) == 4_000  # paid back at the provider, not yet recorded
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token, key="refund-1")
    assert status == 200, out
    assert (out["refunded"], out["status"]) == (4_000, "partially_refunded"), out
    assert money.refunded(aws, oid) == 4_000 and money.paid(aws, oid) == 6_000


# -- a worker dies between the provider call and its DynamoDB write -------------------------------------------
def _transact_dies(monkeypatch, aws, when) -> list[int]:
    """TransactWriteItems fails (the Lambda died / lost the network) for the first write matching `when`."""
    real, died = aws.table.transact, []

    def transact(ops):
        if not died and when(ops):
            died.append(len(ops))
            raise ConnectionError("worker lost before its write")
        return real(ops)

    monkeypatch.setattr(aws.table, "transact", transact)
    return died


def _touches(ops, needle: str) -> bool:
    return needle in json.dumps(ops)


def test_a_settlement_worker_lost_before_closing_resumes_with_the_same_request_numbers(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("kim:720")
    rental = _returned(api, token)
    died = _transact_dies(monkeypatch, aws, lambda ops: _touches(ops, '"closed"'))
    api.run_jobs()
    assert died  # the provider moved the money; the close was never written
    assert api.get(f"/v1/rentals/{rental['id']}", token=token)[1]["status"] == "returned"
    assert provider_op(aws, f"{rental['id']}_release")["amount"] == 49_500
    _drop_queue(aws, "rental-settlements")
    api.advance(RECONCILE)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert closed["status"] == "closed" and closed["released_amount"] == 49_500
    assert_ledger(closed)
    assert me(api, token)["exposure"] == 0


def test_a_refund_lost_before_its_record_is_finished_by_the_next_refund_with_the_same_number(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("lou:720")
    oid = _charged(api, token)
    died = _transact_dies(monkeypatch, aws, lambda ops: _touches(ops, "refunded"))
    status, _ = api.post(f"/v1/orders/{oid}/refund", {"amount": 3_000}, token=token)
    assert died and status >= 500  # the request died after the provider paid back
    assert money.refunded(aws, oid) == 3_000
    monkeypatch.undo()
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 2_000}, token=token)  # another refund
    assert status == 200 and (out["refunded"], out["status"]) == (5_000, "partially_refunded"), out
    assert [int(o["amount"]) for o in money.ops(aws, oid, "rfd")] == [3_000, 2_000]
    assert money.paid(aws, oid) == 5_000


# -- a DynamoDB conflict mid-flow -----------------------------------------------------------------------------
def _conflict_once(monkeypatch, aws, code: str = "TransactionConflict", times: int = 1) -> list[int]:
    """The first `times` TransactWriteItems are cancelled, as DynamoDB does when another transaction touched
    an item."""
    real, hits = aws.table.client.transact_write_items, []

    def transact_write_items(**kwargs):
        if len(hits) < times:
            hits.append(len(kwargs["TransactItems"]))
            reasons = [{"Code": code}] + [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    monkeypatch.setattr(aws.table.client, "transact_write_items", transact_write_items)
    return hits


def test_a_transaction_conflict_on_create_is_retried_and_writes_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("max2:720")
    hits = _conflict_once(monkeypatch, aws)
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert hits and status == 201, out
    assert [o["id"] for o in api.get("/v1/orders", token=token)[1]["items"]] == [out["id"]]
    assert me(api, token)["exposure"] == 10_000


def test_contention_that_outlasts_every_attempt_is_a_409_conflict_and_writes_nothing(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("max3:720")
    hits = _conflict_once(monkeypatch, aws, times=1_000)
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 409 and out["error"]["code"] == "conflict", out  # API.md: a conflict, never a 400 (bad input)
    assert len(hits) > 1  # every attempt was made before giving up
    assert api.get("/v1/orders", token=token)[1]["items"] == [] and me(api, token)["exposure"] == 0


def test_a_concurrent_return_between_read_and_commit_gives_a_clean_answer_and_one_settlement(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("ned2:720")
    rental = active_rental(api, token)
    real_get, raced = aws.table.get, []

    def get(pk, sk):  # right after our read of the rental, another device returns it
        item = real_get(pk, sk)
        if pk == f"RENTAL#{rental['id']}" and not raced:
            raced.append(pk)
            monkeypatch.setattr(aws.table, "get", real_get)
            assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
        return item

    monkeypatch.setattr(aws.table, "get", get)
    status, out = api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)
    assert raced and status in (200, 409), out  # retried on a fresh read (already returned) or a clean 409
    assert status == 409 or out["status"] == "returned"
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert closed["status"] == "closed" and closed["rent_charged"] == 500  # returned within its first day
    assert_ledger(closed)
    assert me(api, token)["exposure"] == 0


# -- poison messages ------------------------------------------------------------------------------------------
def _records(msgs: list[dict]) -> list:
    return [SimpleNamespace(body=m["Body"], message_id=m["MessageId"]) for m in msgs]


def _lambda_rounds(aws, queue: str, rounds: int = 8) -> list[str]:
    """Deliver like Lambda with ReportBatchItemFailures: a batch, delete what succeeded, redeliver the rest."""
    failed_bodies = []
    for _ in range(rounds):
        msgs = aws.queues.receive(queue, max_messages=10, visibility=0)
        if not msgs:
            break
        failures = {f["itemIdentifier"] for f in handle_batch(queue, _records(msgs))["batchItemFailures"]}
        for m in msgs:
            if m["MessageId"] in failures:
                failed_bodies.append(m["Body"])
            else:
                aws.queues.delete(queue, m["ReceiptHandle"])
    return failed_bodies


def test_poison_messages_on_every_worker_are_reported_dead_lettered_and_do_not_block_the_batch(client, aws):
    api = Api(client)
    token = api.member("ora:720")
    oid = _order(api, token)
    api.advance(15 * DAY)
    pk, sk = order_key(oid)
    poison = ["{not json", json.dumps(["a", "list"]), json.dumps({"unexpected": True})]
    for queue in WORKERS:
        for body in poison:
            aws.queues.client.send_message(QueueUrl=aws.queues.url(queue), MessageBody=body)
    aws.queues.send("order-charges", {"pk": pk, "sk": sk})  # a good message in the same batch
    for queue in WORKERS:
        failed = _lambda_rounds(aws, queue)
        assert set(failed) == set(poison), (queue, failed)
        assert len(failed) == 5 * len(poison), queue  # retried up to maxReceiveCount ...
        dead = sorted(m["Body"] for m in aws.queues.receive(queue, max_messages=10, dlq=True))
        assert dead == sorted(poison), queue  # ... then in the dead-letter queue
        assert aws.queues.receive(queue, max_messages=10, visibility=0) == [], queue
    item = aws.table.get(pk, sk)
    assert (item["status"], item["charged"]) == ("charged", 10_000)  # the rest of the batch went through
    assert len(money.ops(aws, oid, "charge")) == 1


def test_a_message_for_an_unknown_id_is_acknowledged_without_any_effect(client, aws):
    """A sweep's message whose object is gone (or never was) is harmless: acknowledged, nothing written."""
    bodies = {
        "order-charges": {"pk": "ORDER#nope", "sk": "ORDER"},
        "rental-settlements": {"rental_id": "nope"},
        "rental-timers": {"pk": "RENTAL#nope", "sk": "RENTAL"},
    }
    for queue, body in bodies.items():
        aws.queues.send(queue, body)
        assert _lambda_rounds(aws, queue) == [], queue
        assert aws.queues.receive(queue, max_messages=10, dlq=True) == [], queue
        assert aws.table.get(body.get("pk", "RENTAL#nope"), body.get("sk", "RENTAL")) is None


def test_a_freeze_notification_contention_keeps_from_applying_is_redelivered_by_the_queue_and_applied_once(
    client, aws, monkeypatch
):
    api = Api(client)
    token = api.member("nia:720")
    status, out = rent(api, token)
    assert status == 201 and out["status"] == "pending_freeze", out
    contention = Contention(monkeypatch, aws.table, "NOTIF#")
    msgs = aws.queues.receive("sandbox-notifications", max_messages=10, visibility=0)
    assert len(msgs) == 1
    failures = handle_batch("sandbox-notifications", _records(msgs))["batchItemFailures"]
    assert contention.hits and failures == [{"itemIdentifier": msgs[0]["MessageId"]}]  # not lost: retried
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "pending_freeze"
    contention.end()
    api.run_jobs()  # the queue's next delivery
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    assert audit_actions(aws, out["id"]).count("active") == 1
    assert aws.queues.receive("sandbox-notifications", max_messages=10, visibility=0) == []
