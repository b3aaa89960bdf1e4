"""A refund the provider left pending, or paid back and then timed out on, is finished by the
`charge_due_orders` sweep and the `order-charges` worker with the same request number: recorded once,
released on a refusal, due again while still pending; never recorded or paid back twice."""

from __future__ import annotations

from chalicelib.domain.errors import ProviderError
from chalicelib.jobs.runner import handle_record
from chalicelib.providers.base import OpResult
from chalicelib.providers.sandbox import SandboxProvider
from chalicelib.services.orders.orders import order_key
from tests.flows import money
from tests.flows.test_order_races import _race, _refund
from tests.helpers import Api, sweep_due

RECONCILE = 16 * 60  # past the 15 minutes after which a pending operation is reconciled


def _charged(api: Api, token: str) -> str:
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 201, out
    status, out = api.post(f"/v1/orders/{out['id']}/confirm", token=token)
    assert status == 200 and out["status"] == "charged", out
    return out["id"]


def _paid_back_then_timed_out(monkeypatch) -> list[str]:
    real, failed = SandboxProvider.refund, []

    def flaky(self, out_request_no, *args, **kwargs):
        result = real(self, out_request_no, *args, **kwargs)
        if not failed:
            failed.append(out_request_no)
            raise ProviderError("provider timed out")
        return result

    monkeypatch.setattr(SandboxProvider, "refund", flaky)
    return failed


def _answers(monkeypatch, *statuses: str) -> list[str]:
    """The provider answers these statuses in turn (the last one from then on); moves no money itself
    except by calling the real sandbox for a `succeeded`."""
    real, calls = SandboxProvider.refund, []

    def scripted(self, out_request_no, *args, **kwargs):
        calls.append(out_request_no)
        status = statuses[min(len(calls), len(statuses)) - 1]
        if status == "succeeded":
            return real(self, out_request_no, *args, **kwargs)
        return OpResult(status, None, "refund_refused" if status == "failed" else None)

    monkeypatch.setattr(SandboxProvider, "refund", scripted)
    return calls


def _member_id(api: Api, token: str) -> str:
    return api.get("/v1/me", token=token)[1]["member_id"]


def test_a_refund_that_timed_out_after_paying_back_is_recorded_once_by_the_sweep(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("rea:720")
    oid = _charged(api, token)
    failed = _paid_back_then_timed_out(monkeypatch)
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token, key="refund-1")
    assert status == 502 and out["error"]["code"] == "provider_error", out
    assert failed == [f"{oid}_rfd1"] and money.refunded(aws, oid) == 4_000  # paid back, not recorded
    item = aws.table.get(*order_key(oid))
    assert item["refund_pending"]["n"] == 1 and item["due_pk"].startswith("timer#order#")
    api.run_jobs()  # not due yet: a member's request may still be on it
    assert aws.table.get(*order_key(oid))["refunded"] == 0
    api.advance(RECONCILE)
    api.run_jobs()
    item = aws.table.get(*order_key(oid))
    assert (item["status"], item["refunded"], item["refund_count"]) == ("partially_refunded", 4_000, 1)
    assert "refund_pending" not in item and "due_pk" not in item and "due_at" not in item
    assert len(money.ops(aws, oid, "rfd")) == 1 and money.paid(aws, oid) == 6_000
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token, key="refund-1")
    assert status == 200 and out["refunded"] == 4_000, out  # the client's retry: done, nothing more
    assert len(money.ops(aws, oid, "rfd")) == 1 and money.paid(aws, oid) == 6_000
    api.advance(RECONCILE)
    assert api.run_jobs().get("order-charges", 0) == 0  # off the index once recorded


def test_duplicate_deliveries_and_a_concurrent_member_retry_record_the_refund_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("rob:720")
    member_id = _member_id(api, token)
    oid = _charged(api, token)
    _paid_back_then_timed_out(monkeypatch)
    assert api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token, key="refund-1")[0] == 502
    api.advance(RECONCILE)
    pk, sk = order_key(oid)
    body = {"pk": pk, "sk": sk}
    assert sweep_due(aws, "charge_due_orders") == 1
    for _ in range(2):
        aws.queues.send("order-charges", body)  # duplicate deliveries of the same timer
    _race(
        lambda: handle_record("order-charges", body, aws),
        lambda: handle_record("order-charges", body, aws),
        lambda: _refund(aws, member_id, oid, 4_000, "refund-1"),
        lambda: _refund(aws, member_id, oid, 4_000, "refund-1"),
    )
    api.run_jobs()
    item = aws.table.get(pk, sk)
    assert (item["status"], item["refunded"], item["refund_count"]) == ("partially_refunded", 4_000, 1)
    assert "refund_pending" not in item and "due_pk" not in item
    assert len(money.ops(aws, oid, "rfd")) == 1 and money.paid(aws, oid) == 6_000


def test_a_refund_the_provider_refuses_on_reconciliation_leaves_the_order_charged_and_the_claim_released(
    client, aws, monkeypatch
):
    api = Api(client)
    token = api.member("ray:720")
    oid = _charged(api, token)
    calls = _answers(monkeypatch, "pending", "failed")
    status, out = api.post(f"/v1/orders/{oid}/refund", {"amount": 4_000}, token=token)
    assert status == 200 and (out["status"], out["refunded"]) == ("charged", 0), out  # in flight at the provider
    api.advance(RECONCILE)
    processed = api.run_jobs()
    assert not processed.get("order-charges:failed"), processed  # a refusal is an answer, not a worker error
    assert calls == [f"{oid}_rfd1"] * 2  # the same request number, asked again
    item = aws.table.get(*order_key(oid))
    assert (item["status"], item["refunded"], item.get("refund_count")) == ("charged", 0, 0)
    assert "refund_pending" not in item and "due_pk" not in item and "due_at" not in item
    assert money.refunded(aws, oid) == 0 and money.paid(aws, oid) == 10_000
    monkeypatch.undo()
    status, out = api.post(f"/v1/orders/{oid}/refund", {}, token=token)  # the member can refund again
    assert status == 200 and (out["status"], out["refunded"]) == ("refunded", 10_000), out
    assert money.paid(aws, oid) == 0


def test_a_refund_still_pending_is_due_again_later_then_recorded_once(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("rio:720")
    oid = _charged(api, token)
    calls = _answers(monkeypatch, "pending", "pending", "succeeded")
    assert api.post(f"/v1/orders/{oid}/refund", {}, token=token)[0] == 200
    api.advance(RECONCILE)
    api.run_jobs()
    item = aws.table.get(*order_key(oid))
    assert len(calls) == 2 and item["refund_pending"]["n"] == 1 and item["status"] == "charged"
    api.run_jobs()  # pushed out by another reconcile period: not asked again at once
    assert len(calls) == 2
    api.advance(RECONCILE)
    api.run_jobs()
    item = aws.table.get(*order_key(oid))
    assert calls == [f"{oid}_rfd1"] * 3
    assert (item["status"], item["refunded"], item["refund_count"]) == ("refunded", 10_000, 1)
    assert "refund_pending" not in item and "due_pk" not in item
    assert len(money.ops(aws, oid, "rfd")) == 1 and money.paid(aws, oid) == 0
