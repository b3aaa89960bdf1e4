"""Cross-cutting conventions of API.md: error envelope, auth, idempotency, sandbox-only routes."""

from __future__ import annotations

import concurrent.futures as cf
import json

from tests.helpers import ADMIN, Api
from tests.rental_helpers import rental_body


def _is_envelope(out, code):
    return set(out) == {"error"} and out["error"]["code"] == code and set(out["error"]) == {"code", "message", "field"}


def test_unknown_route_is_a_404_envelope(client):
    api = Api(client)
    for method, path in [("GET", "/nope"), ("POST", "/v1/nothing/here"), ("GET", "/v1/me/extra")]:
        status, out = api.call(method, path, {} if method == "POST" else None, token="x")
        assert status == 404 and _is_envelope(out, "not_found"), (path, out)


def test_wrong_method_is_a_405_envelope(client):
    status, out = Api(client).call("PUT", "/v1/me", {})
    assert status == 405 and _is_envelope(out, "method_not_allowed")


def test_malformed_json_is_400(client):
    status, out = Api(client).post("/v1/sessions", b'{"provider": "sandbox", "code": ')
    assert status == 400 and _is_envelope(out, "validation_error")


def test_validation_errors_name_the_field(client):
    api = Api(client)
    cases = [
        ({"code": "a"}, "provider"),
        ({"provider": "paypal", "code": "a"}, "provider"),
        ({"provider": "sandbox", "code": 5}, "code"),
        ({"provider": "sandbox", "code": "a", "x": 1}, "x"),
        ({"provider": "sandbox"}, "code"),
    ]
    for body, field in cases:
        status, out = api.post("/v1/sessions", body)
        assert status == 400 and _is_envelope(out, "validation_error") and out["error"]["field"] == field, (body, out)
    status, out = api.post("/v1/sessions", [1, 2])
    assert status == 400 and _is_envelope(out, "validation_error")


def test_idempotency_key_replays_the_first_answer(client, aws):
    api = Api(client)
    token = api.member("kim:720")
    body = json.dumps(rental_body()).encode()

    def rent(key):
        return client.http.post(
            "/v1/rentals",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    first, second = rent("k-1"), rent("k-1")
    assert (first.status_code, second.status_code) == (201, 201) and second.body == first.body
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    third = rent("k-2")  # a new key is a new request
    assert third.status_code == 201 and "Idempotent-Replayed" not in third.headers
    ids = {json.loads(first.body)["id"], json.loads(third.body)["id"]}
    assert len(ids) == 2 and {r["id"] for r in api.get("/v1/rentals", token=token)[1]["items"]} == ids


def test_same_key_with_another_body_is_422(client):
    api = Api(client)
    api.post("/v1/sessions", {"provider": "sandbox", "code": "lee"}, key="k-x")
    status, out = api.post("/v1/sessions", {"provider": "sandbox", "code": "lou"}, key="k-x")
    assert status == 422 and _is_envelope(out, "idempotency_key_reused")


def test_keys_are_per_caller(client):
    api = Api(client)
    a, b = api.sign_in("ann:720"), api.sign_in("ben:720")
    sa, oa = api.post("/v1/credit/authorizations", {}, token=a, key="same")
    sb, ob = api.post("/v1/credit/authorizations", {}, token=b, key="same")
    assert (sa, sb) == (201, 201)
    assert api.get("/v1/me", token=b)[1]["tier"] == "silver"


def test_errors_are_replayed_too(client):
    api = Api(client)
    s1, o1 = api.post("/v1/sessions", {"provider": "sandbox", "code": "x:9999"}, key="bad")
    s2, o2 = api.post("/v1/sessions", {"provider": "sandbox", "code": "x:9999"}, key="bad")
    assert s1 == s2 == 400 and o1 == o2


def test_concurrent_duplicates_have_one_effect(client, aws):
    api = Api(client)
    token = api.sign_in("max:720")

    def go(_):
        return api.post("/v1/credit/authorizations", {}, token=token, key="dup")

    with cf.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(go, range(6)))
    assert all(s in (201, 409) for s, _ in results), results
    bodies = {json.dumps(o, sort_keys=True) for s, o in results if s == 201}
    assert len(bodies) == 1
    me = api.get("/v1/me", token=token)[1]
    audits = list(aws.table.query("pk = :p", {":p": f"AUDIT#member#{me['member_id']}"}))
    assert sum(1 for a in audits if a["action"] == "credit_granted") == 1


def test_admin_key_and_member_tokens_are_not_interchangeable(client):
    api = Api(client)
    status, out = api.call("GET", "/v1/me", headers=dict(ADMIN))
    assert status == 403 and _is_envelope(out, "forbidden")


def test_sandbox_routes_exist_locally(client):
    api = Api(client)
    status, out = api.get("/v1/sandbox/clock")
    assert status == 200 and out["now"].endswith("Z")
    before = out["now"]
    status, out = api.post("/v1/sandbox/clock", {"advance_seconds": 3600})
    assert status == 200 and out["now"][:13] > before[:13] or out["now"][:10] > before[:10]
    status, out = api.post("/v1/sandbox/clock", {"advance_seconds": -5})
    assert status == 400 and out["error"]["field"] == "advance_seconds"


def test_sandbox_routes_are_404_outside_local_and_sandbox(client, monkeypatch):
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from tests.conftest import PROJECT_DIR

    monkeypatch.setenv("CREDITFIRST_STAGE", "prod")
    monkeypatch.setenv("CREDITFIRST_SESSION_SECRET", "s" * 32)  # a deployed stage refuses short keys (503)
    monkeypatch.setenv("CREDITFIRST_ADMIN_KEY", "a" * 24)
    bootstrap.reset()
    with Client(app, stage_name="prod", project_dir=str(PROJECT_DIR)) as prod:
        _assert_sandbox_routes_absent(Api(prod))
    bootstrap.reset()


def _assert_sandbox_routes_absent(api):
    for method, path in [("GET", "/v1/sandbox/clock"), ("POST", "/v1/sandbox/clock"), ("POST", "/v1/sandbox/jobs/run")]:
        status, out = api.call(method, path, {"advance_seconds": 1} if method == "POST" else None)
        assert status == 404 and _is_envelope(out, "not_found"), path
