"""Round trips of sign-in, authorization and GET /v1/me; cold import of app.py against its dependencies, and
of a first request from the Lambda package `make package` builds."""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.common import PROJECT_DIR, start_split, start_stack, table


def round_trips() -> dict[str, int]:
    """The app's own round trips; the sandbox provider's (its ledger shares the table) apart."""
    deps, counter, client = start_split("foundation", ("login", "authorize_credit"))
    h = {"Content-Type": "application/json"}
    with counter.measure() as sign_in:
        r = client.http.post("/v1/sessions", headers=h, body=json.dumps({"provider": "sandbox", "code": "alice:720"}))
    token = json.loads(r.body)["token"]
    auth = {**h, "Authorization": f"Bearer {token}"}
    deps.clock.now()
    with counter.measure() as authorize:
        client.http.post("/v1/credit/authorizations", headers=auth, body=b"{}")
    deps.clock.now()
    with counter.measure() as me:
        client.http.get("/v1/me", headers=auth)
    return {
        "POST /v1/sessions": len(sign_in["app"]),
        "POST /v1/sessions (sandbox provider)": len(sign_in["provider"]),
        "POST /v1/credit/authorizations": len(authorize["app"]),
        "POST /v1/credit/authorizations (sandbox provider)": len(authorize["provider"]),
        "GET /v1/me": len(me["app"]),
    }


def app_cpu_per_request(runs: int = 200) -> dict[str, float]:
    """Median CPU time (this thread) of GET /v1/me and POST /v1/credit/authorizations in the app,
    excluding the time spent inside AWS SDK calls (serialising, sending, parsing)."""
    import time

    deps, _, client = start_stack()
    spent = {"aws": 0.0}
    started: list[float] = []
    events = deps.table.client.meta.events
    events.register("before-call.dynamodb", lambda **_: started.append(time.thread_time()))
    events.register(
        "after-call.dynamodb", lambda **_: spent.__setitem__("aws", spent["aws"] + time.thread_time() - started.pop())
    )
    h = {"Content-Type": "application/json"}
    token = json.loads(
        client.http.post("/v1/sessions", headers=h, body=b'{"provider":"sandbox","code":"cpu:720"}').body
    )["token"]
    auth = {**h, "Authorization": f"Bearer {token}"}
    client.http.post("/v1/credit/authorizations", headers=auth, body=b"{}")
    figures = {}
    for label, call in (
        ("GET /v1/me", lambda: client.http.get("/v1/me", headers=auth)),
        (
            "POST /v1/sessions",
            lambda: client.http.post("/v1/sessions", headers=h, body=b'{"provider":"sandbox","code":"cpu:720"}'),
        ),
    ):
        samples = []
        for _ in range(runs):
            deps.clock.now()
            spent["aws"] = 0.0
            t0 = time.thread_time()
            call()
            samples.append((time.thread_time() - t0 - spent["aws"]) * 1000)
        figures[f"app CPU ms, {label} (median)"] = round(statistics.median(samples), 3)
    return figures


def _deployed_environment() -> dict[str, str]:
    """The process environment with the variables every deployed function gets (.chalice/config.json):
    PYDANTIC_DISABLE_PLUGINS spares the first model its scan of every installed package's metadata."""
    from chalicelib.local.stack import stage_environment

    return {**stage_environment("local"), **os.environ}


def _compile_sources() -> None:
    """Our modules from bytecode, as the dependencies in the venv always are: without this, a run under
    PYTHONDONTWRITEBYTECODE (or right after an edit) compiles every module of ours from source each time."""
    compileall.compile_file(str(PROJECT_DIR / "app.py"), quiet=2)
    compileall.compile_dir(str(PROJECT_DIR / "chalicelib"), quiet=2)


def _import_seconds(statement: str, code_dir: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one cold import in a fresh interpreter; from the project, or from an unpacked
    Lambda package (code_dir) the way Lambda imports it: first on the path, and no bytecode written."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); "
        f"{statement}; print(time.perf_counter() - t, time.process_time() - c)"
    )
    env = _deployed_environment()
    if code_dir is not None:
        env = {**env, "PYTHONPATH": str(code_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-X", "frozen_modules=off", "-c", code],
        cwd=code_dir or PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def import_ratio(runs: int = 7) -> dict[str, float]:
    """Median cold import of app.py over the median cold import of boto3 + chalice + pydantic alone."""
    _compile_sources()
    statements = {
        "deps": DEPS,
        "app": "import app",
        # The app imports its services, boto3 and its table wrapper on the first request; this is the
        # whole cold path of a member request, for honesty next to the import-only figure.
        "first": FIRST_REQUEST_IMPORTS,
        # What any use of pydantic costs (its model machinery and a first validator), which no app with a
        # pydantic model on its request path can go below: the first request against that floor.
        "floor": f"{DEPS}; {ONE_PYDANTIC_MODEL}",
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in statements}
    for _ in range(runs):  # round by round, so a busy moment of a shared machine weighs on every figure alike
        for name, statement in statements.items():
            samples[name].append(_import_seconds(statement))
    wall = {name: statistics.median(w for w, _ in pairs) for name, pairs in samples.items()}
    cpu = {name: statistics.median(c for _, c in pairs) for name, pairs in samples.items()}
    return {
        "import deps (s)": round(wall["deps"], 4),
        "import app (s)": round(wall["app"], 4),
        "import ratio": round(wall["app"] / wall["deps"], 3),
        "import app + first request's modules (s)": round(wall["first"], 4),
        "import ratio incl. first request": round(wall["first"] / wall["deps"], 3),
        "import ratio incl. first request (CPU time)": round(cpu["first"] / cpu["deps"], 3),
        "import deps + one pydantic model (s)": round(wall["floor"], 4),
        "import ratio incl. first request, against deps + one pydantic model": round(wall["first"] / wall["floor"], 3),
    }


def package_cold_start(runs: int = 5) -> dict[str, float]:
    """CPU of the first request's imports (dependencies included) from the zip `make package` builds, with
    its bytecode (tools/bytecode.py) and with the sources alone, as Chalice zips them: Lambda's code
    directory is read-only, so without bytecode every cold start compiles every module it imports."""
    subprocess.run(["make", "-s", "package"], cwd=PROJECT_DIR, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as scratch:
        shipped, bare = Path(scratch, "bytecode"), Path(scratch, "sources")
        with zipfile.ZipFile(PROJECT_DIR / "build" / "package" / "deployment.zip") as package:
            package.extractall(shipped)
            package.extractall(bare, members=[n for n in package.namelist() if "__pycache__/" not in n])
        cpu: dict[str, list[float]] = {"bytecode": [], "sources": []}
        for _ in range(runs):
            for name, code_dir in (("bytecode", shipped), ("sources", bare)):
                cpu[name].append(_import_seconds(FIRST_REQUEST_IMPORTS, code_dir)[1])
    with_bytecode, sources_only = (statistics.median(cpu[name]) * 1000 for name in ("bytecode", "sources"))
    return {
        "first request from the package, sources only (CPU ms)": round(sources_only, 1),
        "first request from the package, with its bytecode (CPU ms)": round(with_bytecode, 1),
    }


def cold_clients(runs: int = 5) -> dict[str, float]:
    """CPU of the first request's AWS clients, after the imports: the bootstrap makes the DynamoDB client
    (every request reads the table), SQS and EventBridge are made on their first use (bootstrap.Clients),
    which an API container serving no message-sending request never reaches."""
    from chalicelib.local.stack import FAKE_CREDENTIALS

    code = (
        "import app, chalicelib.bootstrap as b, time; c = time.process_time(); d = b.bootstrap(); "
        "t = time.process_time(); d.queues.client, d.events; print(t - c, time.process_time() - t)"
    )
    env = {**_deployed_environment(), **FAKE_CREDENTIALS}
    samples = [
        subprocess.run(
            [sys.executable, "-X", "frozen_modules=off", "-c", code],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-2:]
        for _ in range(runs)
    ]
    return {
        "bootstrap of a cold start, DynamoDB client (CPU ms)": round(
            statistics.median(float(a) for a, _ in samples) * 1000, 1
        ),
        "SQS + EventBridge clients on their first use (CPU ms)": round(
            statistics.median(float(b) for _, b in samples) * 1000, 1
        ),
    }


DEPS = "import boto3, chalice, pydantic"
ONE_PYDANTIC_MODEL = "from pydantic import create_model; create_model('M', x=(int, ...)).model_validate({'x': 1})"
# What a first POST /v1/rentals (sandbox provider) loads: tests/api/test_cold_start.py drives one through the
# Lambda handler in a fresh process and checks every module it loads is in here. The request's models get
# their validators on first use (defer_build), so building them is part of the first request's cost.
FIRST_REQUEST_IMPORTS = (
    "import app, chalicelib.bootstrap, chalicelib.api.idempotency, chalicelib.services.rentals.rentals, "
    "chalicelib.providers.sandbox, aws_lambda_powertools.logging; "
    "from chalicelib.api.models.rentals import RentalIn, RentalOut; RentalIn.model_rebuild(); RentalOut.model_rebuild()"
)


GOALS = {
    "GET /v1/me": "goal 1",
    "import ratio": "goal <= 1.15",
    "import ratio incl. first request": "goal <= 1.15 (issue 15)",
    "app CPU ms, GET /v1/me (median)": "goal <= 2",
    "app CPU ms, POST /v1/sessions (median)": "goal <= 2",
}


def measure() -> dict[str, float]:
    return {**round_trips(), **import_ratio(), **package_cold_start(), **cold_clients(), **app_cpu_per_request()}


if __name__ == "__main__":
    figures = measure()
    print(table([(k, v, GOALS.get(k, "")) for k, v in figures.items()]))
