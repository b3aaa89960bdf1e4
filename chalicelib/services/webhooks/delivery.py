"""One delivery attempt: POST the signed event to the endpoint, record the outcome, schedule the retry.

The attempt is claimed first (a conditional write moving the delivery's timer 60 s ahead), so a
duplicate queue message or a concurrent sweep never POSTs the same attempt twice; a worker that dies
mid-attempt leaves the claim to lapse and the `retry_webhooks` sweep brings the delivery back.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import urlsplit

from ...clock import iso
from ...domain import webhooks as rules
from ...domain.errors import DomainError
from ...log import logger
from ...store.dynamo import ConditionFailed
from ...store.guards import expect
from . import endpoints
from .log import as_record, event_payload

CLAIM = timedelta(seconds=rules.TIMEOUT_SECONDS + 50)
USER_AGENT = "creditfirst-webhooks/1"
Post = Callable[[str, bytes, dict], "int | None"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer (not 2xx: retried), never followed to another host


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict) -> int | None:
    """POST with a 10 s timeout; the HTTP status, or None when no answer came (refused, timeout, TLS)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=rules.TIMEOUT_SECONDS) as response:
            response.read(1024)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the address the SSRF check approved, with the URL's host for SNI, certificate and Host:
    a DNS answer that changes between the check and the connection (rebinding) cannot redirect it."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post_pinned(
    url: str, address: str, body: bytes, headers: dict, context: ssl.SSLContext | None = None
) -> int | None:
    """POST over https to `address` (already checked) for `url`; the status, or None without an answer."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = _PinnedHTTPS(
        parts.hostname or "", parts.port or 443, address, rules.TIMEOUT_SECONDS, context or ssl.create_default_context()
    )
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(1024)
        return int(response.status)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def attempt(deps: Any, message: dict, send: Post = post) -> str:
    """Handle one queue message {pk, sk} of a delivery; returns what happened (for logs and tests).
    Round trips on the common path: the claim (returning the delivery), one BatchGetItem (endpoint and
    event), the POST, the outcome; the endpoint's health is written only when it changes."""
    table, now = deps.table, deps.clock.now()
    try:
        d = table.update(
            message["pk"],
            message["sk"],
            "SET due_at = :later",
            **expect(
                {"status": "pending"}, also="due_at <= :now", values={":later": iso(now + CLAIM), ":now": iso(now)}
            ),
        )
    except ConditionFailed:
        return "not due or claimed elsewhere"  # done, early, or another worker's attempt is in flight
    endpoint_key, event_key = (f"WEBHOOK#{d['webhook_id']}", "WEBHOOK"), (d["pk"], "EVENT")
    found = table.batch_get([endpoint_key, event_key])
    endpoint, record = found.get(endpoint_key), found.get(event_key)
    if not endpoint or not record:
        _finish(table, d, now, status_code=None, state="failed")
        return "endpoint deleted"
    body = json.dumps(event_payload(as_record(record)), separators=(",", ":"), ensure_ascii=False).encode()
    code = _send(deps, endpoint, d["event_id"], body, now, send)
    n = int(d["attempts"]) + 1 - int(d.get("round_start", 0))
    ok = rules.delivered(code)
    retry_at = None if ok else rules.next_attempt(n, now)
    state = "delivered" if ok else ("pending" if retry_at else "failed")
    _finish(table, d, now, status_code=code, state=state, retry_at=retry_at)
    if not ok or endpoint.get("consecutive_failures") or endpoint.get("failing"):
        endpoints.record_outcome(table, d["webhook_id"], ok, now, gave_up=state == "failed")
    logger.info(
        "webhook attempt",
        extra={"event_id": d["event_id"], "webhook_id": d["webhook_id"], "status_code": code, "state": state},
    )
    return state


def _send(deps: Any, endpoint: dict, event_id: str, body: bytes, now: Any, send: Post) -> int | None:
    local = deps.settings.stage == "local"
    try:
        addresses = endpoints.check_destination(endpoint["url"], local)  # DNS may have moved since registration
    except DomainError:
        logger.warning("webhook destination refused", extra={"webhook_id": endpoint["id"]})
        return None
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Creditfirst-Event-Id": event_id,
        "Creditfirst-Signature": rules.signature_header(rules.signing_secrets(endpoint, now), timestamp, body),
    }
    if addresses:  # outside local: connect to the address just checked, never a fresh lookup
        return post_pinned(endpoint["url"], addresses[0], body, headers)
    return send(endpoint["url"], body, headers)


def _finish(table: Any, d: dict, now: Any, *, status_code: int | None, state: str, retry_at: Any = None) -> None:
    """Record the attempt under the claim's guard (the attempt count it read)."""
    sets = ["#s = :state", "attempts = :n", "last_attempt_at = :now"]
    values: dict[str, Any] = {":state": state, ":n": int(d["attempts"]) + 1, ":now": iso(now), ":a": d["attempts"]}
    removes = []
    if status_code is None:
        removes.append("last_status_code")
    else:
        sets.append("last_status_code = :code")
        values[":code"] = status_code
    if retry_at is not None:
        sets += ["next_attempt_at = :next", "due_at = :next"]
        values[":next"] = iso(retry_at)
    else:
        removes += ["next_attempt_at", "due_pk", "due_at"]
    update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    try:
        table.update(d["pk"], d["sk"], update, condition="attempts = :a", names={"#s": "status"}, values=values)
    except ConditionFailed:
        pass  # a redelivery reset it meanwhile; its own attempt follows
