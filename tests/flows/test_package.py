"""The deploy template: `chalice package --merge-template` carries the one schema, and cfn-lint passes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    merge = out / "resources.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    merge.write_text(subprocess.run([sys.executable, "-m", "chalicelib.store.template"], cwd=PROJECT_DIR, env=env,
                                    check=True, capture_output=True, text=True).stdout)
    subprocess.run([str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", str(merge),
                    str(out / "pkg")], cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
    return out / "pkg" / "sam.json"


def test_cfn_lint_finds_no_errors(template):
    result = subprocess.run([str(BIN / "cfn-lint"), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_holds_the_schema(template):
    from chalicelib.store.schema import INDEXES, QUEUES

    resources = json.loads(template.read_text())["Resources"]
    table = resources["CreditfirstTable"]["Properties"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == set(INDEXES)
    assert table["TimeToLiveSpecification"]["Enabled"] is True
    queue_names = {r["Properties"]["QueueName"] for r in resources.values() if r["Type"] == "AWS::SQS::Queue"}
    for name in QUEUES:
        assert f"creditfirst-{name}" in queue_names and f"creditfirst-{name}-dlq" in queue_names


def test_every_queue_worker_reports_failures_per_record(template):
    resources = json.loads(template.read_text())["Resources"]
    sources = [e for r in resources.values() if r["Type"] == "AWS::Serverless::Function"
               for e in r["Properties"].get("Events", {}).values() if e["Type"] == "SQS"]
    assert sources
    assert all(e["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for e in sources)
