"""The deploy path: `make deploy` deploys the template `make package` builds (Chalice's SAM template
merged with the one schema). Proved without an AWS account: cfn-lint passes; aws-sam-translator turns
it into the plain CloudFormation that AWS would run, checked against the app and the schema; and that
stack is created on the embedded endpoint's CloudFormation (moto), less what moto cannot build.
The code zip carries the bytecode of every module, and a cold start from it compiles nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGION = "us-east-1"
STACK_REGION = "eu-west-1"  # where the stack is created on the embedded endpoint
CODE_BUCKET, CODE_KEY = "creditfirst-deploy-code", "deployment.zip"
SECRET_REF = re.compile(r"^\{\{resolve:secretsmanager:creditfirst/prod:SecretString:\w+\}\}$")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    merge = out / "resources.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    merge.write_text(
        subprocess.run(
            [sys.executable, "-m", "chalicelib.store.template"],
            cwd=PROJECT_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", str(merge), str(out / "pkg")],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "tools/bytecode.py", str(out / "pkg")], cwd=PROJECT_DIR, check=True, capture_output=True
    )
    return out / "pkg" / "sam.json"


@pytest.fixture(scope="module")
def cfn(template):
    """The packaged SAM template as plain CloudFormation, the code where `aws cloudformation package`
    would put it (an s3:// CodeUri). Chalice names every function's role, so no managed policy is looked up."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = json.loads(template.read_text())
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", REGION)  # the translator builds ARNs in the session's region
        return Translator(managed_policy_map={}, sam_parser=Parser()).translate(sam, parameter_values={})


@pytest.fixture(scope="module")
def app():
    from app import app as chalice_app

    return chalice_app


def _of_type(cfn: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in cfn["Resources"].items() if r["Type"] == kind}


def _queue_name(mapping: dict) -> str:
    return mapping["Properties"]["EventSourceArn"]["Fn::Sub"].rsplit(":", 1)[1]


def _from_stream(mapping: dict) -> bool:
    return mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["CreditfirstTable", "StreamArn"]}


def _queue_mappings(cfn: dict) -> list[dict]:
    return [m for m in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values() if not _from_stream(m)]


def test_cfn_lint_finds_no_errors(template):
    result = subprocess.run([str(BIN / "cfn-lint"), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_deploy_deploys_the_packaged_template_and_the_readme_documents_only_that():
    dry = subprocess.run(
        ["make", "-n", "deploy", "DEPLOY_BUCKET=b"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    steps = [line for line in dry.splitlines() if re.search(r"chalice package|aws cloudformation", line)]
    assert "package --stage prod --merge-template" in steps[0] and steps[0].rstrip().endswith("build/package")
    assert "tools/bytecode.py build/package" in dry.split(steps[0], 1)[1].split(steps[1], 1)[0]
    assert "aws cloudformation package --template-file build/package/sam.json --s3-bucket b" in steps[1]
    assert "aws cloudformation deploy --template-file build/package/packaged.json" in steps[2]
    assert "CAPABILITY_IAM" in steps[2] and len(steps) == 3
    deploy = (PROJECT_DIR / "README.md").read_text().split("## Deploy", 1)[1].split("\n## ", 1)[0]
    assert "make deploy" in deploy and "chalice deploy" not in deploy


def test_the_code_zip_carries_unchecked_bytecode_for_every_source_and_no_other(template):
    with zipfile.ZipFile(template.parent / "deployment.zip") as z:
        names = set(z.namelist())
        sources = {n for n in names if n.endswith(".py")}
        bytecode = {n for n in names if n.endswith(".pyc")}
        assert {"app.py", "chalicelib/bootstrap.py", "pydantic/main.py", "aws_lambda_powertools/__init__.py"} <= sources
        assert bytecode == {importlib.util.cache_from_source(s) for s in sources}
        for name in bytecode:
            header = z.read(name)[:8]
            # PEP 552: this interpreter's magic, then flags 0b01 = hash-based, source never checked
            assert header[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(header[4:], "little") == 1, name


def test_a_cold_start_from_the_package_imports_the_first_request_from_bytecode_alone(template, tmp_path):
    """Every source in the unpacked package is replaced by one that raises: the first request's imports
    still succeed, so none of them was compiled at the cold start (Lambda's code directory is read-only)."""
    from bench.foundation import FIRST_REQUEST_IMPORTS

    with zipfile.ZipFile(template.parent / "deployment.zip") as z:
        z.extractall(tmp_path)
    for source in tmp_path.rglob("*.py"):
        source.write_text("raise ImportError('compiled from source at a cold start')\n")
    probe = f"{FIRST_REQUEST_IMPORTS}; import pydantic, app; print(pydantic.__file__); print(app.__file__)"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(line.startswith(str(tmp_path)) for line in result.stdout.split()), result.stdout


def test_every_function_with_its_secrets_and_the_resources_it_names(cfn, app):
    functions = _of_type(cfn, "AWS::Lambda::Function")
    handlers = {r["Properties"]["Handler"] for r in functions.values()}
    assert handlers == {"app.app"} | {s.handler_string for s in app.event_sources}
    table = _of_type(cfn, "AWS::DynamoDB::Table")["CreditfirstTable"]["Properties"]["TableName"]
    bus = _of_type(cfn, "AWS::Events::EventBus")["CreditfirstEventBus"]["Properties"]["Name"]
    queues = {r["Properties"]["QueueName"] for r in _of_type(cfn, "AWS::SQS::Queue").values()}
    for resource in functions.values():
        env = resource["Properties"]["Environment"]["Variables"]
        assert SECRET_REF.match(env["CREDITFIRST_ADMIN_KEY"]) and SECRET_REF.match(env["CREDITFIRST_SESSION_SECRET"])
        assert env["CREDITFIRST_PROVIDER_SECRET"] == "creditfirst/prod/providers"
        assert env["CREDITFIRST_STAGE"] == "prod" and env["CREDITFIRST_TABLE"] == table
        assert env["CREDITFIRST_EVENT_BUS"] == bus
        assert resource["Properties"]["Code"] == {"S3Bucket": CODE_BUCKET, "S3Key": CODE_KEY}
    from chalicelib.store.schema import QUEUES

    prefix = functions["APIHandler"]["Properties"]["Environment"]["Variables"]["CREDITFIRST_QUEUE_PREFIX"]
    assert {f"{prefix}{name}" for name in QUEUES} <= queues


def test_every_schedule_invokes_its_function(cfn, app):
    rules = _of_type(cfn, "AWS::Events::Rule")
    permissions = [r["Properties"] for r in _of_type(cfn, "AWS::Lambda::Permission").values()]
    functions = _of_type(cfn, "AWS::Lambda::Function")
    schedules = [s for s in app.event_sources if getattr(s, "schedule_expression", None) is not None]
    assert len(rules) == len(schedules)
    for source in schedules:
        [(rule_name, rule)] = [
            (n, r)
            for n, r in rules.items()
            if functions[r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]]["Properties"]["Handler"]
            == source.handler_string
        ]
        assert rule["Properties"]["ScheduleExpression"] == source.schedule_expression.to_string()
        assert any(
            p["Principal"] == "events.amazonaws.com" and p["SourceArn"] == {"Fn::GetAtt": [rule_name, "Arn"]}
            for p in permissions
        )


def test_every_queue_worker_reports_failures_per_record(cfn, app):
    mappings = _queue_mappings(cfn)
    functions = _of_type(cfn, "AWS::Lambda::Function")
    workers = [s for s in app.event_sources if getattr(s, "queue", None)]
    assert len(mappings) == len(workers)
    for source in workers:
        [mapping] = [
            m
            for m in mappings
            if functions[m["Properties"]["FunctionName"]["Ref"]]["Properties"]["Handler"] == source.handler_string
        ]
        assert _queue_name(mapping) == source.queue
        assert mapping["Properties"]["BatchSize"] == source.batch_size
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_queue_of_the_schema_has_its_dead_letter_queue_and_a_worker(cfn):
    from chalicelib.store.schema import QUEUE_VISIBILITY_SECONDS, QUEUES

    queues = _of_type(cfn, "AWS::SQS::Queue")
    by_name = {r["Properties"]["QueueName"]: n for n, r in queues.items()}
    consumed = {_queue_name(m) for m in _queue_mappings(cfn)}
    assert len(queues) == 2 * len(QUEUES) and consumed == {f"creditfirst-{name}" for name in QUEUES}
    for name, max_receives in QUEUES.items():
        queue = queues[by_name[f"creditfirst-{name}"]]["Properties"]
        dlq = by_name[f"creditfirst-{name}-dlq"]
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": max_receives,
        }
        assert queue["VisibilityTimeout"] >= QUEUE_VISIBILITY_SECONDS  # never shorter than a worker's run


def test_the_table_with_its_indexes_and_ttl_and_the_event_bus(cfn):
    from chalicelib.store.schema import INDEXES, TTL_ATTRIBUTE, dynamodb_table_spec

    [table] = _of_type(cfn, "AWS::DynamoDB::Table").values()
    spec = dynamodb_table_spec("creditfirst")
    assert spec.pop("StreamSpecification") == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert {k: table["Properties"][k] for k in spec} == spec
    assert {g["IndexName"] for g in table["Properties"]["GlobalSecondaryIndexes"]} == set(INDEXES)
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert [b["Properties"]["Name"] for b in _of_type(cfn, "AWS::Events::EventBus").values()] == ["creditfirst"]


def test_the_api_serves_every_route_and_answers_unknown_ones_with_our_404(cfn, app):
    [api] = _of_type(cfn, "AWS::ApiGateway::RestApi").values()
    assert set(api["Properties"]["Body"]["paths"]) == set(app.routes)
    [missing] = _of_type(cfn, "AWS::ApiGateway::GatewayResponse").values()
    assert missing["Properties"]["StatusCode"] == "404" and "not_found" in json.dumps(missing)
    assert [s["Properties"]["StageName"] for s in _of_type(cfn, "AWS::ApiGateway::Stage").values()] == ["prod"]


# --- The same stack created on the embedded endpoint's CloudFormation (moto) ---


def _for_moto(cfn: dict) -> tuple[dict, set[str]]:
    """The stack less what moto 5.2.5 cannot create (API Gateway from an imported body, its stage and
    gateway response, and the permission naming that API), with DependsOn from each event source mapping
    to its function and queue (moto resolves the queue ARN only once the queue exists)."""
    resources = json.loads(json.dumps(cfn["Resources"]))
    left_out = {n for n, r in resources.items() if r["Type"].startswith("AWS::ApiGateway::")}
    left_out |= {n for n, r in resources.items() if any(f'"{gone}"' in json.dumps(r) for gone in left_out)}
    queues = {r["Properties"]["QueueName"]: n for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    for mapping in (r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"):
        source = "CreditfirstTable" if _from_stream(mapping) else queues[_queue_name(mapping)]
        mapping["DependsOn"] = [mapping["Properties"]["FunctionName"]["Ref"], source]
    return {"Resources": {n: r for n, r in resources.items() if n not in left_out}}, left_out


@pytest.fixture(scope="module")
def aws_clients(endpoint):
    """Clients in a region of the stack's own: moto keeps one state per account and region, and the suite's
    region already holds the local stack's table, queues and bus under the same names."""
    from chalicelib.local.stack import FAKE_CREDENTIALS

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=STACK_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    return client


@pytest.fixture(scope="module")
def stack(template, cfn, aws_clients):
    body, left_out = _for_moto(cfn)
    assert {cfn["Resources"][n]["Type"] for n in left_out} == {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::GatewayResponse",
        "AWS::Lambda::Permission",
    }
    assert [
        cfn["Resources"][n]["Properties"]["Principal"]
        for n in left_out
        if cfn["Resources"][n]["Type"] == "AWS::Lambda::Permission"
    ] == ["apigateway.amazonaws.com"]
    s3, cloudformation = aws_clients("s3"), aws_clients("cloudformation")
    s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": STACK_REGION})
    s3.upload_file(str(template.parent / "deployment.zip"), CODE_BUCKET, CODE_KEY)
    cloudformation.create_stack(StackName="creditfirst", TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"])
    status = cloudformation.describe_stacks(StackName="creditfirst")["Stacks"][0]
    failures = [
        (e["LogicalResourceId"], e.get("ResourceStatusReason"))
        for e in cloudformation.describe_stack_events(StackName="creditfirst")["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ]
    assert status["StackStatus"] == "CREATE_COMPLETE" and not failures, (status, failures)
    yield {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in cloudformation.describe_stack_resources(StackName="creditfirst")["StackResources"]
    }
    cloudformation.delete_stack(StackName="creditfirst")
    s3.delete_object(Bucket=CODE_BUCKET, Key=CODE_KEY)
    s3.delete_bucket(Bucket=CODE_BUCKET)


def test_the_stack_creates_every_function_and_mapping(stack, aws_clients, app):
    lam, sqs = aws_clients("lambda"), aws_clients("sqs")
    functions = {f["FunctionArn"]: f for f in lam.list_functions()["Functions"] if f["FunctionName"] in stack.values()}
    by_handler = {f["Handler"]: f for f in functions.values()}
    assert set(by_handler) == {"app.app"} | {s.handler_string for s in app.event_sources}
    for function in functions.values():
        assert SECRET_REF.match(function["Environment"]["Variables"]["CREDITFIRST_SESSION_SECRET"])
    mappings = [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m["FunctionArn"] in functions]
    for source in (s for s in app.event_sources if getattr(s, "queue", None)):
        [mapping] = [m for m in mappings if functions[m["FunctionArn"]]["Handler"] == source.handler_string]
        queue_url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        assert (
            mapping["EventSourceArn"]
            == sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["State"] == "Enabled"


def test_the_stack_creates_every_queue_with_its_redrive_and_the_table(stack, aws_clients):
    from chalicelib.store.schema import INDEXES, QUEUES

    sqs, dynamodb = aws_clients("sqs"), aws_clients("dynamodb")
    for name, max_receives in QUEUES.items():
        url = sqs.get_queue_url(QueueName=f"creditfirst-{name}")["QueueUrl"]
        dlq = sqs.get_queue_url(QueueName=f"creditfirst-{name}-dlq")["QueueUrl"]
        redrive = json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
        )
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        assert redrive == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
    table = dynamodb.describe_table(TableName=stack["CreditfirstTable"])["Table"]
    assert {
        g["IndexName"]: tuple(k["AttributeName"] for k in g["KeySchema"]) for g in table["GlobalSecondaryIndexes"]
    } == INDEXES
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]


def test_the_table_stream_feeds_the_event_function_with_failures_per_record(cfn, stack, aws_clients, app):
    """Events within seconds: the table's NEW_IMAGE stream invokes publish_stream_events (jobs/stream.py)."""
    [source] = [s for s in app.event_sources if getattr(s, "stream_arn", None)]
    [mapping] = [m["Properties"] for m in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values() if _from_stream(m)]
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert functions[mapping["FunctionName"]["Ref"]]["Properties"]["Handler"] == source.handler_string
    assert (
        mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        and mapping["StartingPosition"] == "TRIM_HORIZON"
    )
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] == 10
    lam, dynamodb = aws_clients("lambda"), aws_clients("dynamodb")
    stream_arn = dynamodb.describe_table(TableName=stack["CreditfirstTable"])["Table"]["LatestStreamArn"]
    [created] = [
        m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m["EventSourceArn"] == stream_arn
    ]
    assert created["FunctionArn"].endswith(stack[mapping["FunctionName"]["Ref"]])


def test_the_stack_creates_every_schedule_on_its_function(stack, cfn, aws_clients, app):
    events, lam = aws_clients("events"), aws_clients("lambda")
    arn_of = {}
    for logical in _of_type(cfn, "AWS::Lambda::Function"):
        config = lam.get_function(FunctionName=stack[logical])["Configuration"]
        arn_of[config["Handler"]] = config["FunctionArn"]
    schedules: dict[str, list[str]] = {}
    for logical in _of_type(cfn, "AWS::Events::Rule"):
        rule = events.describe_rule(Name=stack[logical].rsplit("/", 1)[-1])
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            schedules.setdefault(target["Arn"], []).append(rule["ScheduleExpression"])
    assert schedules == {
        arn_of[s.handler_string]: [s.schedule_expression.to_string()]
        for s in app.event_sources
        if getattr(s, "schedule_expression", None) is not None
    }


def test_bytecode_for_another_runtime_than_this_interpreter_stops_the_build(tmp_path):
    sam = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.9"}}}}
    (tmp_path / "sam.json").write_text(json.dumps(sam))
    with zipfile.ZipFile(tmp_path / "deployment.zip", "w") as z:
        z.writestr("app.py", "x = 1\n")
    result = subprocess.run(
        [sys.executable, "tools/bytecode.py", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert result.returncode != 0 and "python3.9" in result.stderr
    with zipfile.ZipFile(tmp_path / "deployment.zip") as z:
        assert z.namelist() == ["app.py"]  # untouched
