"""HTTP middleware: one structured log line per request, Chalice's own errors in our envelope,
and an unexpected exception becomes a logged 500 envelope (never a stack trace to the caller)."""

from __future__ import annotations

import time
from typing import Any, Callable

from ..log import logger
from .errors import envelope, translate_builtin


def http_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    started = time.perf_counter()
    path = event.context.get("resourcePath") if getattr(event, "context", None) else None
    try:
        response = translate_builtin(get_response(event))
    except Exception:
        logger.exception("unhandled error", extra={"route": path, "method": event.method})
        response = envelope(500, "internal_error", "unexpected error; it has been logged")
    logger.info(
        "request",
        extra={
            "route": path,
            "method": event.method,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
