"""Structured JSON logs, one line per request, and no secrets in them."""
from __future__ import annotations

import json

from tests.helpers import ADMIN, Api


def test_request_log_lines_are_json_and_carry_no_secrets(client, caplog):
    from chalicelib.log import logger

    api = Api(client)
    status, session = api.post("/v1/sessions", {"provider": "sandbox", "code": "olga:720"}, key="idem-secret-key")
    api.post("/v1/credit/authorizations", {}, token=session["token"])
    api.call("GET", "/v1/me", headers=dict(ADMIN))
    # The very formatter of the Powertools handler, applied to every record this test produced.
    out = "\n".join(logger.registered_formatter.format(r) for r in caplog.records if r.name == "creditfirst")
    lines = [json.loads(line) for line in out.splitlines()]
    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) >= 3
    assert {"route", "method", "status", "ms", "level", "service", "timestamp"} <= set(requests[0])
    assert requests[0]["service"] == "creditfirst" and requests[0]["status"] == 201
    for secret in (session["token"], "local-admin-key", "local-session-secret-not-for-production",
                   "local-sandbox-secret", "olga:720"):
        assert secret not in out
