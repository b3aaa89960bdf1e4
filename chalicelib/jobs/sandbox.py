"""The sandbox provider's sender: signs each queued notification and hands it to the same
callback handling that /v1/callbacks/sandbox uses."""

from __future__ import annotations

from ..domain.errors import DomainError
from ..ports import Deps
from ..services import callbacks


def deliver(deps: Deps, body: dict) -> None:
    raw = body["body"].encode()
    headers = deps.provider("sandbox").signed_headers(raw)
    try:
        ack = callbacks.handle(deps, "sandbox", headers, raw)
    except DomainError as exc:  # e.g. a refused signature: surface it so the message is retried
        raise RuntimeError(f"sandbox notification refused: {exc.code}") from exc
    if ack.status >= 500:  # not applied (nack): fail the message so the queue delivers it again
        raise RuntimeError("sandbox notification not applied; the queue delivers it again")
