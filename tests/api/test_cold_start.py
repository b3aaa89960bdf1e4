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
