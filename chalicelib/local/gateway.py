"""API Gateway's answer for unknown routes, as the deploy template configures it
(GatewayResponse MISSING_AUTHENTICATION_TOKEN -> 404 in our envelope), applied to Chalice's local gateway."""

from __future__ import annotations

import json

from chalice import local

NOT_FOUND_BODY = json.dumps({"error": {"code": "not_found", "message": "no such route", "field": None}})


class RouteNotFound(local.LocalGatewayException):
    CODE = 404


def install() -> None:
    """Idempotent: wrap LocalGateway.handle_request once."""
    if getattr(local.LocalGateway.handle_request, "_creditfirst", False):
        return
    original = local.LocalGateway.handle_request

    def handle_request(self, method, path, headers, body):  # type: ignore[no-untyped-def]
        try:
            return original(self, method, path, headers, body)
        except local.ForbiddenError as exc:
            if b"Missing Authentication Token" in (exc.body or b"") or b"requires 'Credential'" in (exc.body or b""):
                raise RouteNotFound({"Content-Type": "application/json"}, NOT_FOUND_BODY.encode()) from exc
            raise

    handle_request._creditfirst = True  # type: ignore[attr-defined]
    local.LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
