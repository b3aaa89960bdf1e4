"""The real local stack as a subprocess (what `make run` starts), spoken to over HTTP."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read().decode() or "{}")


@pytest.fixture(scope="module")
def stack():
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "CREDITFIRST_"))}
    env["PORT"] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", "chalicelib.local"], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "creditfirst local stack on" in line:
            lines += [proc.stdout.readline(), proc.stdout.readline()]  # admin key, endpoint
            break
        if proc.poll() is not None:
            pytest.fail("local stack exited early:\n" + "".join(lines))
    yield f"http://127.0.0.1:{port}", proc, lines
    if proc.poll() is None:
        proc.kill()


def test_newcomer_journey_over_http(stack):
    base, _, lines = stack
    assert any("admin key: local-admin-key" in line for line in lines)
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
    _, proc, _ = stack
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "creditfirst local stack stopped" in out
    assert "Traceback" not in out
