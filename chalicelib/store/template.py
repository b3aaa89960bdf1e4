"""python -m chalicelib.store.template: the schema as a `--merge-template` file (prints JSON)."""
from __future__ import annotations

import json

from .schema import cloudformation_resources

NOT_FOUND = '{"error":{"code":"not_found","message":"no such route","field":null}}'


def merge_template(stage: str = "prod") -> dict:
    resources = cloudformation_resources("creditfirst", stage, "creditfirst", "creditfirst-", "creditfirst")
    # API Gateway answers unknown routes itself; make that answer our 404 envelope.
    resources["UnknownRouteResponse"] = {
        "Type": "AWS::ApiGateway::GatewayResponse",
        "Properties": {"RestApiId": {"Ref": "RestAPI"}, "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                       "StatusCode": "404", "ResponseTemplates": {"application/json": NOT_FOUND}},
    }
    return {"Resources": resources}


if __name__ == "__main__":
    print(json.dumps(merge_template(), indent=2))
