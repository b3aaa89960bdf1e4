"""The provider port's later answers, through the sandbox with one operation held back: a charge the
provider keeps collecting, a refund answered by notification, consent withdrawn at the provider, a
freeze the user never confirms. (The real providers' adapters are tested against their fakes.)"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.providers.base import OpResult
from chalicelib.providers.sandbox import SandboxProvider, sign
from tests.flows import money
from tests.helpers import Api
from tests.rental_helpers import provider_op, rent

DAY = 86400


def _notify(client, aws, **body) -> int:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Sandbox-Timestamp": ts,
        "X-Sandbox-Signature": sign(aws.settings.sandbox_secret, ts, raw),
    }
    return client.http.post("/v1/callbacks/sandbox", headers=headers, body=raw).status_code


def _order(api: Api, token: str) -> dict:
    status, out = api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000, "trial_days": 7}, token=token
    )
    assert status == 201, out
    return out


def _charge_state(aws, order: dict) -> str:
    return aws.table.get(f"ORDER#{order['id']}", "ORDER")["charge_state"]


@pytest.fixture
def collecting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sandbox holds every charge as `pending` (completed, not yet collected) and counts the
    collection requests it is sent."""
    asked: list[str] = []
    monkeypatch.setattr(SandboxProvider, "charge", lambda self, no, *a, **k: OpResult("pending", f"sbx-{no}"))
    monkeypatch.setattr(SandboxProvider, "query", lambda self, no: OpResult("pending", f"sbx-{no}"))
    monkeypatch.setattr(
        SandboxProvider, "request_collection", lambda self, no, ref: asked.append(no) or OpResult("pending")
    )
    return asked


def test_a_charge_still_uncollected_7_days_after_the_charge_date_is_past_due(client, aws, collecting):
    api = Api(client)
    token = api.member("cora:720")
    order = _order(api, token)
    api.advance(7 * DAY)
    api.run_jobs()
    assert _charge_state(aws, order) == "charging"
    for _ in range(6):  # six more days: asked to collect once a day, never more
        api.advance(DAY)
        api.run_jobs()
        api.run_jobs()
    assert _charge_state(aws, order) == "charging"
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "pending_charge"
    assert collecting == [f"{order['id']}_charge1"] * 6
    api.advance(DAY)
    api.run_jobs()
    after = api.get(f"/v1/orders/{order['id']}", token=token)[1]
    assert after["status"] == "past_due"
    me = api.get("/v1/me", token=token)[1]
    assert me["blacklisted"] is True and me["default_count"] == 1


def test_a_collection_reported_later_settles_the_charge_once(client, aws, collecting):
    api = Api(client)
    token = api.member("dora:720")
    order = _order(api, token)
    api.advance(7 * DAY)
    api.run_jobs()
    note = {
        "id": "ntf-paid-1",
        "kind": "charge.succeeded",
        "out_request_no": f"{order['id']}_charge1",
        "provider_ref": "sbx-tx-1",
        "amount": 10_000,
    }
    assert _notify(client, aws, **note) == 200
    assert _notify(client, aws, **{**note, "id": "ntf-paid-2"}) == 200  # a second report changes nothing
    after = api.get(f"/v1/orders/{order['id']}", token=token)[1]
    assert (after["status"], after["charged"]) == ("charged", 10_000)
    api.advance(8 * DAY)
    api.run_jobs()
    assert api.get(f"/v1/orders/{order['id']}", token=token)[1]["status"] == "charged"


def test_a_refund_left_pending_is_recorded_once_by_the_providers_notification(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("edda:720")
    order = _order(api, token)
    assert api.post(f"/v1/orders/{order['id']}/confirm", {}, token=token)[0] == 200
    monkeypatch.setattr(SandboxProvider, "refund", lambda self, no, *a, **k: OpResult("pending"))
    status, out = api.post(f"/v1/orders/{order['id']}/refund", {"amount": 4_000}, token=token)
    assert status == 200 and out["refunded"] == 0
    note = {"id": "ntf-rf-1", "kind": "refund.succeeded", "out_request_no": f"{order['id']}_rfd1"}
    for n in range(2):  # a retried notification, then another with a new id: recorded once
        assert _notify(client, aws, **{**note, "id": f"ntf-rf-{n}"}) == 200
    after = api.get(f"/v1/orders/{order['id']}", token=token)[1]
    assert (after["status"], after["refunded"]) == ("partially_refunded", 4_000)
    assert not aws.table.get(f"ORDER#{order['id']}", "ORDER").get("refund_pending")


def test_a_refund_the_provider_reports_failed_releases_its_claim(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("fina:720")
    order = _order(api, token)
    api.post(f"/v1/orders/{order['id']}/confirm", {}, token=token)
    monkeypatch.setattr(SandboxProvider, "refund", lambda self, no, *a, **k: OpResult("pending"))
    api.post(f"/v1/orders/{order['id']}/refund", {"amount": 4_000}, token=token)
    assert _notify(client, aws, id="ntf-rf-x", kind="refund.failed", out_request_no=f"{order['id']}_rfd1") == 200
    after = aws.table.get(f"ORDER#{order['id']}", "ORDER")
    assert "refund_pending" not in after and int(after["refunded"]) == 0 and after["status"] == "charged"
    assert money.paid(aws, order["id"]) == 10_000


def test_consent_withdrawn_at_the_provider_withdraws_the_snapshot(client, aws):
    api = Api(client)
    token = api.member("gale:720")
    assert api.get("/v1/me", token=token)[1]["score_band"] == "700-749"
    assert _notify(client, aws, id="ntf-w-1", kind="credit.withdrawn", provider_user_id="gale") == 200
    me = api.get("/v1/me", token=token)[1]
    assert (me["score_band"], me["authorization_expires_at"]) == (None, None)
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 1_000}, token=token)
    assert (status, out["error"]["code"]) == (403, "credit_authorization_required")


def test_a_freeze_never_confirmed_is_cancelled_at_the_provider_then_rejected(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("hana:720")
    monkeypatch.setattr(SandboxProvider, "_notify", lambda self, *a, **k: None)  # the user never confirms
    monkeypatch.setattr(SandboxProvider, "query", lambda self, no: OpResult("pending"))
    status, out = rent(api, token)
    assert out["status"] == "pending_freeze"
    api.advance(30 * 60)
    api.run_jobs()
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "pending_freeze"
    assert provider_op(aws, f"{out['id']}_freeze_x") is None
    api.advance(31 * 60)
    api.run_jobs()
    after = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert (after["status"], after["reason"]) == ("rejected", "freeze_not_confirmed")
    assert provider_op(aws, f"{out['id']}_freeze_x")["kind"] == "freeze_cancel"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
