"""Provider orders opened before our commit (issue 15, defect 5). A provider that takes the user's
confirmation in the mini-program is asked while the request runs; the intent is written first and
deleted by the object's own transaction. A retry names the same object (and so the same provider order);
a commit that never comes leaves an intent whose timer closes the provider's order."""

from __future__ import annotations

import json

import pytest

from chalicelib.providers.sandbox import SandboxProvider
from tests.helpers import Api
from tests.rental_helpers import provider_op, rental_body

DAY = 86400


@pytest.fixture
def in_app(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The sandbox asked before the commit, as the real providers are; closes are counted."""
    closed: list[tuple] = []
    real_cancel, real_close = SandboxProvider.cancel_freeze, SandboxProvider.close_pay_later
    monkeypatch.setattr(SandboxProvider, "confirms_in_app", True)
    monkeypatch.setattr(
        SandboxProvider, "cancel_freeze", lambda self, o, n: closed.append(("freeze", n)) or real_cancel(self, o, n)
    )
    monkeypatch.setattr(
        SandboxProvider,
        "close_pay_later",
        lambda self, n, ref, why: closed.append(("paylater", n)) or real_close(self, n, ref, why),
    )
    return closed


def _commit_dies(monkeypatch, aws) -> list[int]:
    """Every transaction that creates a rental or an order fails: the request dies after the provider call."""
    real, died = aws.table.transact, []

    def transact(ops):
        text = json.dumps(ops)
        if '"Put"' in text and ('"sk": {"S": "RENTAL"}' in text or '"sk": {"S": "ORDER"}' in text):
            died.append(len(ops))
            raise ConnectionError("lost before the commit")
        return real(ops)

    monkeypatch.setattr(aws.table, "transact", transact)
    return died


def _dies(call) -> None:
    """The request died (the client sees a 5xx, or the error itself)."""
    try:
        status, _ = call()
    except ConnectionError:
        return
    assert status >= 500


def _intents(aws) -> list[dict]:
    return [i for s in range(8) for i in aws.table.query("due_pk = :p", {":p": f"timer#intent#{s}"}, index="due")]


def test_a_committed_rental_leaves_no_intent_behind(client, aws, in_app):
    api = Api(client)
    token = api.member("ilse:720")
    status, out = api.post("/v1/rentals", rental_body(), token=token)
    assert status == 201 and provider_op(aws, f"{out['id']}_freeze")["amount"] == 50_000
    assert aws.table.get(f"INTENT#{out['id']}", "INTENT") is None and _intents(aws) == []


def test_a_retry_with_the_same_key_reaches_the_same_provider_order(client, aws, in_app, monkeypatch):
    api = Api(client)
    token = api.member("jona:720")
    with monkeypatch.context() as m:
        died = _commit_dies(m, aws)
        _dies(lambda: api.post("/v1/rentals", rental_body(), token=token, key="rent-once"))
    assert died
    freezes = [i for i in _intents(aws)]
    assert len(freezes) == 1 and freezes[0]["number"].endswith("_freeze")
    status, out = api.post("/v1/rentals", rental_body(), token=token, key="rent-once")
    assert status == 201 and f"{out['id']}_freeze" == freezes[0]["number"]  # the same provider order
    assert _intents(aws) == []
    api.advance(16 * 60)
    api.run_jobs()
    assert in_app == [] and api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"


def test_a_rental_whose_commit_never_came_has_its_freeze_cancelled_once(client, aws, in_app, monkeypatch):
    api = Api(client)
    token = api.member("kira:720")
    with monkeypatch.context() as m:
        _commit_dies(m, aws)
        _dies(lambda: api.post("/v1/rentals", rental_body(), token=token))
    [intent] = _intents(aws)
    api.advance(10 * 60)
    api.run_jobs()
    assert in_app == []  # not due yet
    api.advance(6 * 60)
    api.run_jobs()
    api.run_jobs()
    assert in_app == [("freeze", intent["number"])] and _intents(aws) == []
    assert api.get("/v1/rentals", token=token)[1]["items"] == []
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_an_order_whose_commit_never_came_has_its_agreement_closed(client, aws, in_app, monkeypatch):
    api = Api(client)
    token = api.member("lena:720")
    with monkeypatch.context() as m:
        _commit_dies(m, aws)
        _dies(lambda: api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token))
    [intent] = _intents(aws)
    assert intent["number"].endswith("_pl")
    api.advance(16 * 60)
    api.run_jobs()
    assert in_app == [("paylater", intent["number"])] and _intents(aws) == []
