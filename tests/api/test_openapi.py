"""GET /v1/openapi.json: generated from the routes' own models; every route of the app is in it."""

from __future__ import annotations

import re

from tests.helpers import Api


def _doc(client):
    status, doc = Api(client).get("/v1/openapi.json")
    assert status == 200
    return doc


def _resolve(doc, schema):
    ref = schema.get("$ref")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def test_every_route_of_the_app_is_documented(client):
    from app import app

    doc = _doc(client)
    assert doc["openapi"].startswith("3.1")
    in_app = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    in_doc = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert in_app - in_doc == set(), "routes registered without the route() decorator, or missing from ROUTES"
    assert in_doc - in_app == set(), "documented routes that the app does not serve"
    assert {
        ("/v1/admin/metrics", "get"),
        ("/v1/admin/audit", "get"),
        ("/admin", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/sessions", "post"),
    } <= in_doc


def test_request_bodies_are_the_models_the_route_validates_with(client):
    from chalicelib.api.models.members import SessionIn

    doc = _doc(client)
    op = doc["paths"]["/v1/sessions"]["post"]
    schema = _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
    assert schema == SessionIn.model_json_schema()  # the very model the route validates with
    assert schema["properties"]["provider"]["enum"] == ["alipay", "wechat", "sandbox"]
    assert set(schema["required"]) == {"provider", "code"}
    assert schema.get("additionalProperties") is False  # unknown fields are refused, and the document says so
    assert "201" in op["responses"] and op["security"] == []
    names = {p["name"] for p in op["parameters"]}
    assert "Idempotency-Key" in names


def test_query_and_path_parameters_and_security(client):
    doc = _doc(client)
    metrics = doc["paths"]["/v1/admin/metrics"]["get"]
    assert {p["name"] for p in metrics["parameters"] if p["in"] == "query"} == {"from", "to"}
    assert metrics["security"] == [{"adminBearer": []}]
    audit = doc["paths"]["/v1/admin/audit"]["get"]
    required = {p["name"]: p["required"] for p in audit["parameters"]}
    assert required == {"entity_id": True, "limit": False}
    me = doc["paths"]["/v1/me"]["get"]
    assert me["security"] == [{"memberBearer": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["memberBearer"]["scheme"] == schemes["adminBearer"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"{([^}]+)}", path)), path


def test_every_operation_documents_the_error_envelope(client):
    doc = _doc(client)
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "field"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"]["400"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }
            if op["security"]:
                assert {"401", "403"} <= set(op["responses"]), (path, method)
            refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', __import__("json").dumps(op))
            assert all(r in doc["components"]["schemas"] for r in refs), (path, method, refs)


def test_responses_name_their_model(client):
    doc = _doc(client)
    ok = doc["paths"]["/v1/admin/metrics"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    schema = _resolve(doc, ok)
    assert {"from", "to", "totals", "by_band", "by_scenario", "by_day"} <= set(schema["properties"])
    assert doc["paths"]["/admin"]["get"]["responses"]["200"]["content"].keys() == {"text/html"}
    assert "204" in doc["paths"]["/v1/credit/authorization"]["delete"]["responses"]


def test_the_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate

    validate(_doc(client))  # raises on any schema violation
