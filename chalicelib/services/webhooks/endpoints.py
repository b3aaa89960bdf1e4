"""Webhook endpoints: register (the secret is shown once), list, delete, rotate the secret.

Item: pk WEBHOOK#<id>, sk WEBHOOK, listed under list_pk "webhooks" (oldest first). The secret is kept
because every delivery is signed with it; it is never shown again after registration or rotation.
"""

from __future__ import annotations

import secrets
import socket
from datetime import datetime
from typing import Any, Callable

from ...clock import iso
from ...domain import events as catalogue
from ...domain import webhooks as rules
from ...domain.errors import NotFound, ValidationFailed
from ...store.uow import RETRY, UnitOfWork

LIST_PK = "webhooks"
MAX_ENDPOINTS = 20  # an event's record and its deliveries are written in one transaction (100 items max)
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (any of them may be the one a connection reaches)."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})
    except (socket.gaierror, UnicodeError):
        return []


def check_destination(url: str, local: bool, resolver: Resolver | None = None) -> list[str]:
    """Outside stage `local`: https only, and the host must resolve, to public addresses only (SSRF).
    Returns the checked addresses (empty in `local`), which the delivery then connects to."""
    _scheme, host, port = rules.check_url(url, local)
    if local:
        return []
    addresses = (resolver or resolve)(host, port)
    if not addresses:
        raise ValidationFailed("url: the host does not resolve", "url")
    if any(rules.internal_address(a) for a in addresses):
        raise ValidationFailed("url: resolves to an internal address (loopback, link-local or private)", "url")
    return addresses


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(32)


def public(item: dict) -> dict:
    """What operators see of an endpoint: never the secret."""
    return {
        "id": item["id"],
        "url": item["url"],
        "events": item["events"],
        "created_at": item["created_at"],
        "failing": bool(item.get("failing")),
        "consecutive_failures": int(item.get("consecutive_failures", 0)),
        "last_failure_at": item.get("last_failure_at"),
        "secret_rotated_at": item.get("secret_rotated_at"),
    }


def all_endpoints(table: Any) -> list[dict]:
    """Every endpoint: one Query on the sparse list index (at most MAX_ENDPOINTS items)."""
    return list(table.query("list_pk = :p", {":p": LIST_PK}, index="list"))


def register(
    table: Any,
    uow: UnitOfWork,
    endpoint_id: str,
    url: str,
    patterns: list[str],
    local: bool,
    resolver: Resolver | None = None,
) -> dict:
    check_destination(url, local, resolver)
    events = rules.validate_patterns(patterns, set(catalogue.CATALOGUE))
    if len(all_endpoints(table)) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"url: at most {MAX_ENDPOINTS} endpoints; delete one first", "url")
    at = iso(uow.now)
    item = {
        "pk": f"WEBHOOK#{endpoint_id}",
        "sk": "WEBHOOK",
        "type": "webhook",
        "id": endpoint_id,
        "url": url,
        "events": events,
        "secret": new_secret(),
        "created_at": at,
        "consecutive_failures": 0,
        "list_pk": LIST_PK,
        "list_sk": f"{at}#{endpoint_id}",
    }
    uow.put(item, condition="attribute_not_exists(pk)")
    uow.audit(f"webhook#{endpoint_id}", "registered", after={"url": url, "events": events})
    return {"id": endpoint_id, "url": url, "events": events, "secret": item["secret"]}


def get(table: Any, endpoint_id: str) -> dict:
    item = table.get(f"WEBHOOK#{endpoint_id}", "WEBHOOK")
    if not item:
        raise NotFound("no such webhook", "id")
    return item


def delete(table: Any, uow: UnitOfWork, endpoint_id: str) -> None:
    """Remove the endpoint; its pending deliveries end as `failed` at their next attempt."""
    item = get(table, endpoint_id)
    uow.delete(item["pk"], item["sk"], condition="attribute_exists(pk)", on_fail=NotFound("no such webhook", "id"))
    uow.audit(f"webhook#{endpoint_id}", "deleted", before={"url": item["url"], "events": item["events"]})


def rotate(table: Any, uow: UnitOfWork, endpoint_id: str, now: datetime) -> dict:
    """A new secret; the one it replaces keeps signing (a second v1) for 24 h so receivers can switch."""
    item = get(table, endpoint_id)
    secret = new_secret()
    uow.update(
        item["pk"],
        item["sk"],
        set={
            "secret": secret,
            "old_secret": item["secret"],
            "secret_rotated_at": iso(now),
            "old_secret_until": iso(now + rules.ROTATION_OVERLAP),
        },
        condition="secret = :old",
        values={":old": item["secret"]},
        on_fail=RETRY,
    )  # lost to a concurrent rotation
    uow.audit(f"webhook#{endpoint_id}", "secret_rotated", data={"old_secret_until": iso(now + rules.ROTATION_OVERLAP)})
    return {"secret": secret}


def record_outcome(table: Any, endpoint_id: str, ok: bool, now: datetime, gave_up: bool) -> None:
    """Endpoint health for the dashboard: consecutive failed attempts; `failing` after FAILING_AFTER of
    them or once a delivery has used up its retries; a success clears both."""
    from ...store.dynamo import ConditionFailed

    pk = f"WEBHOOK#{endpoint_id}"
    try:
        if ok:
            table.update(
                pk,
                "WEBHOOK",
                "SET consecutive_failures = :z, failing = :f",
                condition="attribute_exists(pk)",
                values={":z": 0, ":f": False},
            )
            return
        out = table.update(
            pk,
            "WEBHOOK",
            "ADD consecutive_failures :one SET last_failure_at = :at",
            condition="attribute_exists(pk)",
            values={":one": 1, ":at": iso(now)},
        )
        if gave_up or int(out.get("consecutive_failures", 0)) >= rules.FAILING_AFTER:
            table.update(pk, "WEBHOOK", "SET failing = :t", condition="attribute_exists(pk)", values={":t": True})
    except ConditionFailed:
        pass  # deleted meanwhile: nothing to flag
