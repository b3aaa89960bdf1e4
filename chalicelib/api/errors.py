"""The error envelope: the one place domain errors become HTTP answers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Response

if TYPE_CHECKING:
    from pydantic import ValidationError

from ..domain.errors import DomainError

JSON = {"Content-Type": "application/json"}


def envelope(status: int, code: str, message: str, field: str | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "field": field}}
    return Response(body=json.dumps(body), status_code=status, headers=dict(JSON))


def from_domain(exc: DomainError) -> Response:
    return envelope(exc.status, exc.code, exc.message, exc.field)


def from_validation(exc: ValidationError, prefix: str = "") -> Response:
    """First pydantic error -> 400 validation_error naming the field (dotted path)."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err.get("loc", ()) if p != "__root__"]
    if err.get("type") == "json_invalid":
        return envelope(400, "validation_error", "malformed JSON body", None)
    if err.get("type") in ("model_type", "model_attributes_type") and not loc:
        return envelope(400, "validation_error", "the body must be a JSON object", None)
    field = ".".join(loc) or None
    if field and prefix:
        field = f"{prefix}{field}"
    message = err.get("msg", "invalid value")
    if err.get("type") == "missing":
        message = "field required"
    elif err.get("type") == "extra_forbidden":
        message = "unknown field"
    return envelope(400, "validation_error", f"{field}: {message}" if field else message, field)


_BUILTIN = {
    405: ("method_not_allowed", "this method is not allowed on this route"),
    415: ("unsupported_media_type", "send application/json"),
    400: ("validation_error", "bad request"),
}


def translate_builtin(response: Any) -> Any:
    """Chalice's own errors ({"Code", "Message"}) reshaped into our envelope."""
    body = getattr(response, "body", None)
    if isinstance(body, dict) and "Code" in body and "error" not in body:
        code, message = _BUILTIN.get(response.status_code, ("internal_error", "unexpected error"))
        new = envelope(response.status_code, code, body.get("Message") or message)
        new.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
        return new
    return response
