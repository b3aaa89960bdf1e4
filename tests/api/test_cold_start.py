"""A cold start imports only the routes; the tables of handlers are imported on their first lookup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import app
loaded_at_import = sorted(m for m in ("boto3", "pydantic", "cryptography", "chalicelib.bootstrap",
                                      "chalicelib.services.rentals.rentals", "chalicelib.services.orders.orders",
                                      "chalicelib.jobs.runner") if m in sys.modules)
routes = sum(len(methods) for methods in app.app.routes.values())
from chalicelib.services import tables
from chalicelib.services.orders import charges
print(json.dumps({"loaded": loaded_at_import, "routes": routes, "handlers": sorted(tables.NOTIFICATIONS), "resolvers": sorted(tables.RESOLVERS),
                  "hooks": sorted(charges.HOOKS)}))
"""


def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_app_registers_every_route_without_loading_services_or_aws_sdks() -> None:
    found = _probe()
    assert found["loaded"] == []
    assert found["routes"] > 40


def test_the_registries_are_complete_once_loaded() -> None:
    found = _probe()
    assert {"freeze.succeeded", "freeze.failed", "deposit.paid", "credit.granted"} <= set(found["handlers"])
    assert {"rental", "order", "booking"} <= set(found["resolvers"])
    assert {"order", "booking"} <= set(found["hooks"])


# A first POST /v1/rentals in a fresh process, through the Lambda handler as API Gateway calls it (no test
# client, whose own imports would hide the app's): which modules did importing the app and serving it load?
FIRST_RENTAL = """
import json, os, sys
before = set(sys.modules)
import app
event = {
    "resource": "/v1/rentals", "path": "/v1/rentals", "httpMethod": "POST",
    "headers": {"content-type": "application/json", "authorization": "Bearer " + os.environ["PROBE_TOKEN"],
                "idempotency-key": "cold-start-probe"},
    "multiValueHeaders": None, "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/v1/rentals", "httpMethod": "POST", "stage": "local", "requestId": "probe",
                       "path": "/local/v1/rentals", "identity": {"sourceIp": "127.0.0.1"}},
    "body": json.dumps({"scenario": "books", "item_id": "book-1", "item_value": 50000, "daily_rent": 500, "days": 7}),
}
class Context:
    function_name, function_version, memory_limit_in_mb = "api_handler", "$LATEST", 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:creditfirst-local"
    aws_request_id, log_group_name, log_stream_name = "probe", "probe", "probe"
    def get_remaining_time_in_millis(self):
        return 30000
answer = app.app(event, Context())
from chalicelib.bootstrap import deps
print("PROBE " + json.dumps({"status": answer["statusCode"], "body": answer["body"],
                             "loaded": sorted(set(sys.modules) - before), "clients": deps().clients.made()}))
"""

BENCH_STATEMENT = """
import json, os, sys
before = set(sys.modules)
exec(os.environ["PROBE_STATEMENT"])
print("PROBE " + json.dumps({"loaded": sorted(set(sys.modules) - before)}))
"""

# Loaded by botocore's first HTTP call (the endpoint's host name is IDNA-encoded), not by the app.
FIRST_AWS_CALL = {"encodings.idna", "stringprep", "unicodedata"}


def _run(code: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stdout.splitlines() if x.startswith("PROBE ")][-1]
    return json.loads(line[len("PROBE ") :])


def test_the_cold_start_bench_imports_what_a_first_rental_request_loads(client) -> None:
    import os

    from bench.foundation import FIRST_REQUEST_IMPORTS
    from tests.helpers import Api

    token = Api(client).member("coldstart:720")
    request = _run(FIRST_RENTAL, {**os.environ, "PROBE_TOKEN": token})
    assert request["status"] == 201, request["body"]
    # EventBridge is the outbox worker's: an API cold start never makes its client (SQS: the sandbox
    # provider queues its notification)
    assert request["clients"] == ["dynamodb", "sqs"]
    bench = _run(BENCH_STATEMENT, {**os.environ, "PROBE_STATEMENT": FIRST_REQUEST_IMPORTS})

    served, measured = set(request["loaded"]), set(bench["loaded"])
    assert served - measured - FIRST_AWS_CALL == set()  # nothing the request loads goes uncounted
    ours = {m for m in served | measured if m.split(".")[0] in ("app", "chalicelib")}
    assert {m for m in ours if m in measured} == {m for m in ours if m in served}  # and nothing it does not load
