"""The OpenAPI 3.1 document, generated from ROUTES (the `route` decorator's record of every route and
its pydantic models), so the document cannot drift from what the routes validate and answer."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import idempotency
from .routing import ROUTES, RouteSpec

REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"{([^}]+)}")
ERROR_STATUSES = {
    "400": "validation_error: a bad or missing field (named in error.field), malformed JSON",
    "401": "unauthenticated: no or bad credentials",
    "403": "forbidden: authenticated but not allowed",
    "404": "not_found: no such object (or not the caller's), or a sandbox route outside local/sandbox",
    "409": "invalid_state / conflict: not allowed in the current status, or a concurrent change won",
    "422": "idempotency_key_reused: the same Idempotency-Key with another body",
}
# Path parameters the handlers check beyond "a string" (tests/api/test_fuzz_findings.py holds them to the code).
PATH_SCHEMAS: dict[tuple[str, str], dict] = {
    ("/v1/admin/scenarios/{name}", "name"): {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
}
# Routes that answer a second success status with the same body (the handler's Staged(status=...)).
ALSO_ANSWERS: dict[tuple[str, str], tuple[str, str]] = {
    ("/v1/admin/scenarios/{name}", "PUT"): ("201", "Created: the scenario did not exist"),
}
SECURITY = {"member": [{"memberBearer": []}], "admin": [{"adminBearer": []}], "none": []}
# What raw routes (which build their own Response) answer.
RAW_RESPONSES: dict[tuple[str, str], tuple[str, str]] = {
    ("/admin", "GET"): ("text/html", "The dashboard page"),
    ("/v1/openapi.json", "GET"): ("application/json", "This document"),
    **{
        (f"/v1/admin/exports/{name}.csv", "GET"): ("text/csv", f"The {name}: a header row, one row per record, fen")
        for name in ("orders", "rentals", "charges", "refunds")
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}


def _models(routes: list[RouteSpec]) -> tuple[dict, dict]:
    """(key -> schema or $ref, component schemas) for every model the routes use."""
    wanted: list[tuple[type[BaseModel], Any]] = []
    for r in routes:
        for model, mode in ((r.body, "validation"), (r.query, "validation"), (r.response, "serialization")):
            if model is not None and (model, mode) not in wanted:
                wanted.append((model, mode))
    if not wanted:
        return {}, {}
    refs, defs = models_json_schema(wanted, ref_template=REF)
    return refs, defs.get("$defs", {})


def _inline(schema: dict, components: dict) -> dict:
    """Follow a top-level $ref (query models are spelled out as parameters)."""
    ref = schema.get("$ref")
    return components[ref.rsplit("/", 1)[1]] if ref else schema


def _parameters(r: RouteSpec, refs: dict, components: dict) -> list[dict]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": PATH_SCHEMAS.get((r.path, name), {"type": "string"})}
        for name in PATH_PARAM.findall(r.path)
    ]
    if r.query is not None:
        schema = _inline(refs[(r.query, "validation")], components)
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    if r.method == "POST":
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH, "pattern": "\\S"},
                "description": "Same key + same body within 24 h replays the first answer",
            }
        )
    return params


def _responses(r: RouteSpec, refs: dict) -> dict:
    raw = RAW_RESPONSES.get((r.path, r.method))
    if raw:
        ok = {
            "description": raw[1],
            "content": {raw[0]: {"schema": {"type": "string"} if raw[0] != "application/json" else {"type": "object"}}},
        }
        out = {"200": ok}
    elif r.response is not None:
        content = {"application/json": {"schema": refs[(r.response, "serialization")]}}
        out = {str(r.status): {"description": "Success", "content": content}}
        also = ALSO_ANSWERS.get((r.path, r.method))
        if also:
            out[also[0]] = {"description": also[1], "content": content}
    else:  # a handler answering None with the default status answers 204
        status = "204" if r.status in (200, 204) else str(r.status)
        out = {status: {"description": "Success" if status != "204" else "Done, no content"}}
    for status, text in ERROR_STATUSES.items():
        if status in ("401", "403") and r.auth == "none" and not r.path.startswith("/v1/callbacks"):
            continue
        out[status] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    return out


def _operation(r: RouteSpec, refs: dict, components: dict) -> dict:
    op: dict[str, Any] = {
        "operationId": f"{r.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', r.path).strip('_')}",
        "summary": r.summary.splitlines()[0] if r.summary else "",
        "tags": [r.tag] if r.tag else [],
        "security": SECURITY.get(r.auth, []),
        "parameters": _parameters(r, refs, components),
        "responses": _responses(r, refs),
    }
    if r.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(r.body, "validation")]}},
        }
    elif r.method == "POST" and r.content_types:
        op["requestBody"] = {"required": True, "content": {t: {"schema": {}} for t in r.content_types}}
    if r.sandbox_only:
        op["x-sandbox-only"] = True
        op["description"] = "Only in stages local and sandbox (404 elsewhere)."
    return op


def document(routes: list[RouteSpec] | None = None) -> dict:
    """The whole OpenAPI 3.1 document."""
    routes = list(ROUTES if routes is None else routes)
    refs, components = _models(routes)
    paths: dict[str, dict] = {}
    for r in sorted(routes, key=lambda x: (x.path, x.method)):
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, refs, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "creditfirst",
            "version": "1",
            "description": "Credit-based rentals, pay later, bookings and marketing for mini-programs. "
            "Money is integer fen; time is ISO 8601 UTC.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**components, "Error": ERROR_SCHEMA},
            "securitySchemes": {
                "memberBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Session token from POST /v1/sessions",
                },
                "adminBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The operator key (CREDITFIRST_ADMIN_KEY)",
                },
            },
        },
    }
