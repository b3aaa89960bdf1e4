"""Outside stage `local`, a missing or short session secret or admin key stops the API (503 misconfigured)
rather than serving with a key anyone can guess; the log names the setting, never its value."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.api.auth import issue_token
from tests.helpers import Api

GOOD_SECRET = "s" * 32  # the shortest accepted: 32 bytes
GOOD_ADMIN = "a" * 24  # the shortest accepted: 24 bytes


@pytest.fixture
def deployed(aws, monkeypatch):
    """chalice.test.Client over the app in a deployed stage, with the keys a test sets."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from tests.conftest import PROJECT_DIR

    clients = []

    def start(stage: str, session_secret: str, admin_key: str) -> Api:
        monkeypatch.setenv("CREDITFIRST_STAGE", stage)
        monkeypatch.setenv("CREDITFIRST_SESSION_SECRET", session_secret)
        monkeypatch.setenv("CREDITFIRST_ADMIN_KEY", admin_key)
        bootstrap.reset()
        bootstrap.bootstrap()  # settings from this environment, on the test's own table
        client = Client(app, stage_name=stage, project_dir=str(PROJECT_DIR))
        clients.append(client)
        return Api(client.__enter__())

    yield start
    for client in clients:
        client.__exit__(None, None, None)
    bootstrap.reset()


def _member_token(secret: str) -> str:
    return issue_token(secret, "m_forged", "sandbox", None, int(time.time()) + 3600)


def _every_kind_of_route(api: Api, session_secret: str, admin_key: str) -> list[tuple[str, int, object]]:
    calls = [
        ("POST", "/v1/sessions", {"provider": "alipay", "code": "x"}, {}),
        ("GET", "/v1/me", None, {"Authorization": f"Bearer {_member_token(session_secret)}"}),
        ("GET", "/v1/admin/metrics", None, {"Authorization": f"Bearer {admin_key}"}),
        ("POST", "/v1/callbacks/alipay", "notify_id=1", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("GET", "/v1/openapi.json", None, {}),
        ("GET", "/v1/sandbox/clock", None, {}),
    ]
    out = []
    for method, path, body, headers in calls:
        status, answer = api.call(method, path, body, headers=headers)
        out.append((path, status, answer))
    return out


@pytest.mark.parametrize("stage", ["prod", "sandbox"])
@pytest.mark.parametrize(
    "session_secret,admin_key",
    [
        ("", GOOD_ADMIN),  # the forgeable case: anyone can sign a member token with the empty key
        (GOOD_SECRET[:-1], GOOD_ADMIN),  # 31 bytes
        ("秘" * 10, GOOD_ADMIN),  # 30 bytes in UTF-8 (10 characters): bytes are what count
        (GOOD_SECRET, ""),
        (GOOD_SECRET, GOOD_ADMIN[:-1]),  # 23 bytes
    ],
    ids=[
        "no-session-secret",
        "session-secret-31-bytes",
        "session-secret-30-utf8-bytes",
        "no-admin-key",
        "admin-key-23-bytes",
    ],
)
def test_a_deployed_stage_with_a_missing_or_short_key_answers_503_on_every_route(
    deployed, stage, session_secret, admin_key
):
    api = deployed(stage, session_secret, admin_key)
    for path, status, answer in _every_kind_of_route(api, session_secret, admin_key):
        assert status == 503, (path, status, answer)
        assert answer["error"]["code"] == "misconfigured" and set(answer["error"]) == {"code", "message", "field"}
        assert all(value not in json.dumps(answer) for value in (session_secret, admin_key) if value)


def test_a_configured_deployment_serves_and_refuses_a_token_signed_with_the_empty_key(deployed):
    api = deployed("prod", GOOD_SECRET, GOOD_ADMIN)
    status, out = api.get("/v1/openapi.json")
    assert status == 200 and "paths" in out
    status, out = api.call("GET", "/v1/admin/metrics", headers={"Authorization": f"Bearer {GOOD_ADMIN}"})
    assert status == 200 and "totals" in out
    status, out = api.call("GET", "/v1/me", headers={"Authorization": f"Bearer {_member_token('')}"})
    assert status == 401 and out["error"]["code"] == "unauthenticated"
    status, out = api.get("/v1/sandbox/clock")
    assert status == 404  # sandbox routes stay out of prod


def test_local_keeps_running_with_its_published_keys(client):
    status, out = Api(client).get("/v1/openapi.json")
    assert status == 200  # .chalice/config.json's local admin key is 15 bytes: only `local` may run with it


def test_the_log_names_the_settings_never_their_values(deployed, caplog):
    from chalicelib.log import logger

    secret, admin = "short-session-secret-value", "short-admin-value"
    api = deployed("prod", secret, admin)
    status, _ = api.call("GET", "/v1/me", headers={"Authorization": f"Bearer {_member_token(secret)}"})
    assert status == 503
    # The very formatter of the Powertools handler, applied to every record this test produced.
    out = "\n".join(logger.registered_formatter.format(r) for r in caplog.records if r.name == "creditfirst")
    lines = [json.loads(line) for line in out.splitlines()]
    refusals = [line for line in lines if line["message"].startswith("misconfigured")]
    assert refusals and refusals[0]["level"] == "ERROR"
    assert refusals[0]["settings"] == ["CREDITFIRST_SESSION_SECRET", "CREDITFIRST_ADMIN_KEY"]
    assert secret not in out and admin not in out
