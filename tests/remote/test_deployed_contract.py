"""The HTTP contract against a deployed stage, over the network.

Runs only when CREDITFIRST_REMOTE_URL names a deployed stage (and AWS credentials are around for
that stage's provider-side setup); skipped otherwise. Sandbox-login checks need that stage to be
`sandbox` (CREDITFIRST_REMOTE_STAGE=sandbox).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

BASE = os.environ.get("CREDITFIRST_REMOTE_URL", "").rstrip("/")
pytestmark = pytest.mark.skipif(not BASE, reason="no deployed stage named (CREDITFIRST_REMOTE_URL)")


def _call(method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(
        BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read().decode() or "{}")


def test_unknown_route_is_our_404():
    status, out = _call("GET", "/v1/no/such/route")
    assert status == 404 and out["error"]["code"] == "not_found"


def test_member_routes_need_a_session():
    status, out = _call("GET", "/v1/me")
    assert status == 401 and out["error"]["code"] == "unauthenticated"


def test_bad_input_is_a_400_naming_the_field():
    status, out = _call("POST", "/v1/sessions", {"provider": "paypal", "code": "x"})
    assert status == 400 and out["error"]["field"] == "provider"


@pytest.mark.skipif(os.environ.get("CREDITFIRST_REMOTE_STAGE") != "sandbox", reason="sandbox logins need stage sandbox")
def test_sandbox_member_journey():
    status, session = _call("POST", "/v1/sessions", {"provider": "sandbox", "code": "remote-alice:720"})
    assert status == 201
    status, auth = _call("POST", "/v1/credit/authorizations", {}, session["token"])
    assert status == 201 and auth["tier"] == "silver"
    status, me = _call("GET", "/v1/me", token=session["token"])
    assert status == 200 and me["credit_limit"] == 500_000
