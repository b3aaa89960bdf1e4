"""The real local stack as a subprocess (what `make run` starts), spoken to over HTTP."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading

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


def test_the_local_stack_takes_64_simultaneous_connections(stack):
    """A crowd (a load tool's 64 connections opened at once) is answered, none reset by the listen backlog."""
    host, port = stack.base.split("//")[1].split(":")
    barrier, answers = threading.Barrier(64), []

    def one() -> None:
        barrier.wait(timeout=30)
        with socket.create_connection((host, int(port)), timeout=60) as conn:
            conn.sendall(b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            chunks = []
            while chunk := conn.recv(65536):  # read it all: a client that hangs up early is not a crowd
                chunks.append(chunk)
            answers.append(b"".join(chunks)[:12])

    threads = [threading.Thread(target=one) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 64 and all(a.startswith(b"HTTP/1.") and b" 200" in a for a in answers), answers
    # Linux retries a SYN the backlog dropped, so the crowd gets through slowly even with socketserver's 5;
    # the listening socket's own backlog (ss's Send-Q) says whether it is taken at once.
    listing = (
        subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        if shutil.which("ss")
        else ""
    )
    if listing:
        assert int(listing.split()[2]) >= 64, listing


def test_ctrl_c_stops_everything_cleanly(stack):
    stack.proc.send_signal(signal.SIGINT)
    stack.proc.wait(timeout=30)
    out = stack.output()
    assert stack.proc.returncode == 0, out
    assert "creditfirst local stack stopped" in out
    assert "Traceback" not in out
