"""python -m chalicelib.store.template: the `--merge-template` file for `chalice package` (prints JSON).

It adds what Chalice cannot declare: the one schema's table, queues (with DLQs) and bus; per-record
failure reporting on every SQS event source (ReportBatchItemFailures, see STACK-NOTES.md); our 404
envelope for unknown routes; and secrets resolved from Secrets Manager at deploy time.
"""

from __future__ import annotations

import json
from typing import Any

from .schema import cloudformation_resources

NOT_FOUND = '{"error":{"code":"not_found","message":"no such route","field":null}}'
SECRET_ID = "creditfirst/prod"
SECRETS = {"CREDITFIRST_ADMIN_KEY": "admin_key", "CREDITFIRST_SESSION_SECRET": "session_secret"}


def _logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _queue_logical(queue_name: str, prefix: str = "creditfirst-") -> str:
    return "".join(p.capitalize() for p in queue_name[len(prefix) :].split("-")) + "Queue"


def merge_template(app: Any) -> dict:
    resources: dict[str, Any] = cloudformation_resources(
        "creditfirst", "prod", "creditfirst", "creditfirst-", "creditfirst"
    )
    resources["UnknownRouteResponse"] = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {
            "RestApiId": {"Ref": "RestAPI"},
            "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
            "StatusCode": "404",
            "ResponseTemplates": {"application/json": NOT_FOUND},
        },
    }
    secrets = {env: f"{{{{resolve:secretsmanager:{SECRET_ID}:SecretString:{key}}}}}" for env, key in SECRETS.items()}
    functions = (
        {"APIHandler"}
        | {_logical(s.name) for s in app.event_sources}
        | {_logical(n) for n in getattr(app, "pure_lambda_functions", [])}
    )
    for logical in functions:
        resources[logical] = {"Properties": {"Environment": {"Variables": dict(secrets)}}}
    for source in app.event_sources:
        if getattr(source, "stream_arn", None):  # the table's stream: its real ARN, failures per record
            logical = _logical(source.name)
            resources[logical]["Properties"]["Events"] = {
                f"{logical}DynamodbEventSource": {
                    "Properties": {
                        "Stream": {"Fn::GetAtt": ["CreditfirstTable", "StreamArn"]},
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "MaximumRetryAttempts": 10,
                        "BisectBatchOnFunctionError": True,
                    }
                }
            }
            continue
        queue = getattr(source, "queue", None)
        if queue is None:
            continue
        logical = _logical(source.name)
        resources[logical]["DependsOn"] = [_queue_logical(queue)]
        resources[logical]["Properties"]["Events"] = {
            f"{logical}SqsEventSource": {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
        }
    return {"Resources": resources}


if __name__ == "__main__":
    from app import app as chalice_app

    print(json.dumps(merge_template(chalice_app), indent=2))
