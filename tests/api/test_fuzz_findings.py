"""Bugs schemathesis found on the HTTP surface (tests/fuzz), each pinned by a focused test."""

from __future__ import annotations

from chalicelib.api import idempotency
from tests.helpers import Api

ENVELOPE_KEYS = {"code", "message", "field"}


def _lose_the_idempotency_race(monkeypatch, aws, caller: str, path: str, other_body: bytes) -> None:
    """The first read of the Idempotency-Key record finds nothing; right after it, a concurrent request with
    the same key and ANOTHER body stores its answer (a write between our read and our commit)."""
    real_get, fired = aws.table.get, []

    def get(pk, sk):
        item = real_get(pk, sk)
        if sk == "IDEM" and not fired:
            fired.append(pk)
            other = idempotency.make_slot(caller, "k-race", "POST", path, other_body, aws.clock.now())
            idempotency.save_alone(aws.table, other, 404, '{"error": {}}')
        return item

    monkeypatch.setattr(aws.table, "get", get)


def test_losing_an_idempotency_race_to_another_body_is_a_422_not_a_500(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("racer:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    _lose_the_idempotency_race(monkeypatch, aws, member_id, "/v1/orders/nope/cancel", b'{"x": 1}')
    status, out = api.post("/v1/orders/nope/cancel", {}, token=token, key="k-race")
    assert status == 422, out
    assert out["error"]["code"] == "idempotency_key_reused" and set(out["error"]) == ENVELOPE_KEYS


def test_losing_the_race_on_a_committing_route_is_a_422_and_writes_nothing(client, aws, monkeypatch):
    api = Api(client)
    token = api.member("racer2:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    body = {"kind": "pay_later", "scenario": "books", "amount": 10_000}
    _lose_the_idempotency_race(monkeypatch, aws, member_id, "/v1/orders", b'{"other": true}')
    status, out = api.post("/v1/orders", body, token=token, key="k-race")
    assert status == 422, out
    assert out["error"]["code"] == "idempotency_key_reused"
    monkeypatch.undo()
    assert api.get("/v1/orders", token=token)[1]["items"] == []  # the losing transaction left nothing behind


def test_signing_in_with_a_provider_this_deployment_does_not_offer_is_a_400_naming_provider(client):
    # the local stage has no Alipay or WeChat keys (was a 502 provider_error)
    for provider in ("alipay", "wechat"):
        status, out = Api(client).post("/v1/sessions", {"provider": provider, "code": "0"})
        assert status == 400, out
        assert out["error"]["code"] == "validation_error" and out["error"]["field"] == "provider"


def test_callbacks_of_a_provider_without_keys_are_a_404(client):
    api = Api(client)
    for path, body in (("/v1/callbacks/alipay", "notify_id=1&sign=x"), ("/v1/callbacks/wechat", "{}")):
        status, out = api.call("POST", path, body)
        assert status == 404, (path, out)
        assert out["error"]["code"] == "not_found" and set(out["error"]) == ENVELOPE_KEYS


# -- the OpenAPI document said less than the routes check (schemathesis's valid data got 400s) --------------
def _operation(client, path, method):
    status, doc = Api(client).get("/v1/openapi.json")
    assert status == 200
    return doc["paths"][path][method]


def test_the_document_gives_the_idempotency_key_limits_the_route_enforces(client):
    from chalicelib.api.idempotency import MAX_KEY_LENGTH

    params = {p["name"]: p for p in _operation(client, "/v1/orders", "post")["parameters"]}
    assert params["Idempotency-Key"]["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "\\S",
    }
    api = Api(client)
    token = api.member("keys:720")
    for key in (" ", "k" * (MAX_KEY_LENGTH + 1)):
        status, out = api.post(
            "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 100}, token=token, key=key
        )
        assert (status, out["error"]["field"]) == (400, "Idempotency-Key")


def test_the_document_says_metrics_days_are_dates_and_scenario_names_their_pattern(client):
    from chalicelib.api.admin_risk import SCENARIO_NAME

    params = {p["name"]: p for p in _operation(client, "/v1/admin/metrics", "get")["parameters"]}
    assert params["from"]["schema"]["format"] == params["to"]["schema"]["format"] == "date"
    params = {p["name"]: p for p in _operation(client, "/v1/admin/scenarios/{name}", "put")["parameters"]}
    assert params["name"]["schema"]["pattern"] == SCENARIO_NAME.pattern


def test_creating_a_scenario_by_put_answers_a_documented_201(client):
    api = Api(client)
    status, out = api.admin("PUT", "/v1/admin/scenarios/kites", {"risk_level": "low"})
    assert status == 201 and out["name"] == "kites"
    assert api.admin("PUT", "/v1/admin/scenarios/kites", {"threshold": 600})[0] == 200
    responses = _operation(client, "/v1/admin/scenarios/{name}", "put")["responses"]
    assert responses["201"]["content"] == responses["200"]["content"]


def test_metrics_up_to_the_first_days_of_the_calendar_is_not_a_500(client):
    # to - 29 days overflowed datetime.date (found by schemathesis once the document said "format: date")
    status, out = Api(client).admin("GET", "/v1/admin/metrics?to=0001-01-01")
    assert status == 200, out
    assert (out["from"], out["to"]) == ("0001-01-01", "0001-01-01")
