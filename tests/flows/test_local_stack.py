"""The real local stack as a subprocess (what `make run` starts), spoken to over HTTP."""
from __future__ import annotations

import signal

import pytest

from tests.local_stack import LocalStack
from tests.local_stack import call as _call


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    local = LocalStack(tmp_path_factory.mktemp("stack") / "stack.log")
    try:
        local.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield local
    local.stop()


def test_newcomer_journey_over_http(stack):
    base = stack.base
    assert "admin key: local-admin-key" in stack.output()
    status, session = _call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": "alice:720"})
    assert status == 201
    status, auth = _call(base, "POST", "/v1/credit/authorizations", {}, session["token"])
    assert status == 201 and auth["tier"] == "silver"
    status, me = _call(base, "GET", "/v1/me", token=session["token"])
    assert (status, me["score_band"], me["tier"], me["credit_limit"]) == (200, "700-749", "silver", 500_000)
    status, out = _call(base, "GET", "/no/such/route")
    assert status == 404 and out["error"]["code"] == "not_found"
    status, out = _call(base, "POST", "/v1/sandbox/jobs/run", {})
    assert status == 200 and "processed" in out


def test_ctrl_c_stops_everything_cleanly(stack):
    stack.proc.send_signal(signal.SIGINT)
    stack.proc.wait(timeout=30)
    out = stack.output()
    assert stack.proc.returncode == 0, out
    assert "creditfirst local stack stopped" in out
    assert "Traceback" not in out
