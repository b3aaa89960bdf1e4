"""The real local stack (what `make run` starts) as a subprocess on a free port, and a tiny HTTP client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None, headers: dict | None = None
) -> tuple[int, Any]:
    """(status, parsed JSON body or {}) for one request."""
    req = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode() if body is not None else None
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read().decode() or "{}")


class LocalStack:
    """`python -m chalicelib.local` on a free port, its output in a log file (read it with output()).

    The output goes to a file, not a pipe: a pipe nobody drains fills up and blocks the server."""

    def __init__(self, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "CREDITFIRST_"))}
        env.update(extra_env or {})
        env["PORT"] = str(self.port)
        self.env = env
        self.proc: subprocess.Popen | None = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 60) -> LocalStack:
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chalicelib.local"],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "AWS endpoint:" in self.output():  # the banner's last line
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("local stack did not start:\n" + self.output())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
