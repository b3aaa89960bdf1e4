"""Structured JSON logs, one line per request, and no secrets in them."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from chalicelib.providers.sandbox import sign
from tests.helpers import ADMIN, Api


@pytest.fixture
def log_output():
    """Everything the app's logger writes during the test, as it writes it: the Powertools formatter
    applied at the moment of logging (with whatever keys are appended then)."""
    from chalicelib.log import logger

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(handler)
    yield out
    target.removeHandler(handler)


def test_request_log_lines_are_json_and_carry_no_secrets(client, aws, log_output):
    api = Api(client)
    status, session = api.post("/v1/sessions", {"provider": "sandbox", "code": "olga:720"}, key="idem-secret-key")
    assert status == 201
    api.post("/v1/credit/authorizations", {}, token=session["token"])
    api.call("GET", "/v1/me", headers=dict(ADMIN))  # the admin key is no member token: 403
    body = json.dumps({"id": "ntf-log", "kind": "freeze.succeeded", "out_request_no": "r-log-freeze"}).encode()
    ts = str(int(time.time()))
    signature = sign(aws.settings.sandbox_secret, ts, body)
    client.http.post(
        "/v1/callbacks/sandbox",
        body=body,
        headers={"Content-Type": "application/json", "X-Sandbox-Timestamp": ts, "X-Sandbox-Signature": signature},
    )
    client.http.post(
        "/v1/callbacks/sandbox",
        body=body,
        headers={  # refused: logged as a 401
            "Content-Type": "application/json",
            "X-Sandbox-Timestamp": ts,
            "X-Sandbox-Signature": "0" * 64,
        },
    )
    out = log_output.getvalue()
    lines = [json.loads(line) for line in out.splitlines()]
    requests = [line for line in lines if line.get("message") == "request"]
    assert [r["status"] for r in requests] == [201, 201, 403, 200, 401], requests
    assert {"route", "method", "status", "ms", "level", "service", "timestamp"} <= set(requests[0])
    assert requests[0]["service"] == "creditfirst"
    for secret in (
        session["token"],
        "local-admin-key",
        "local-session-secret-not-for-production",
        aws.settings.sandbox_secret,
        "olga:720",
        "idem-secret-key",
        signature,
    ):
        assert secret not in out, secret
