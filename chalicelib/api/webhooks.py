"""Merchant webhooks and the event log (API.md "Merchant webhooks, events"). Operator key only."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..lazy import Lazy
from .routing import Ctx, Staged, route

endpoints = Lazy("chalicelib.services.webhooks.endpoints")
event_log = Lazy("chalicelib.services.webhooks.log")

bp = Blueprint(__name__)
M = "webhooks:"


@route(
    bp,
    "/v1/admin/webhooks",
    "POST",
    auth="admin",
    body=M + "WebhookIn",
    response=M + "WebhookCreated",
    status=201,
    tag="admin",
)
def register_webhook(ctx: Ctx, body: Any) -> Staged:
    """Register an endpoint for event types (`prefix.*` wildcards); the signing secret is shown only here."""
    uow = ctx.uow()
    return Staged(
        uow,
        endpoints.register(
            ctx.deps.table, uow, ctx.object_id("wh"), body.url, body.events, ctx.deps.settings.stage == "local"
        ),
    )


@route(bp, "/v1/admin/webhooks", "GET", auth="admin", response=M + "WebhooksOut", tag="admin")
def list_webhooks(ctx: Ctx, _: Any) -> dict:
    """Registered endpoints (never their secrets), with whether each is failing."""
    return {"items": [endpoints.public(e) for e in endpoints.all_endpoints(ctx.deps.table)]}


@route(bp, "/v1/admin/webhooks/{webhook_id}", "DELETE", auth="admin", status=204, tag="admin")
def delete_webhook(ctx: Ctx, _: Any, webhook_id: str) -> None:
    """Remove an endpoint; nothing more is sent to it."""
    uow = ctx.uow()
    endpoints.delete(ctx.deps.table, uow, webhook_id)
    uow.commit()


@route(bp, "/v1/admin/webhooks/{webhook_id}/rotate", "POST", auth="admin", response=M + "SecretOut", tag="admin")
def rotate_webhook_secret(ctx: Ctx, _: Any, webhook_id: str) -> Staged:
    """A new signing secret, shown only here; the old one also signs for 24 h."""
    uow = ctx.uow()
    return Staged(uow, endpoints.rotate(ctx.deps.table, uow, webhook_id, ctx.now))


@route(bp, "/v1/admin/events", "GET", auth="admin", query=M + "EventsQuery", response=M + "EventsOut", tag="admin")
def list_events(ctx: Ctx, query: Any) -> dict:
    """Events of the last 30 days, newest first, with each endpoint's delivery status."""
    return {"items": event_log.list_events(ctx.deps.table, ctx.now, query.type, query.delivery, query.limit)}


@route(
    bp,
    "/v1/admin/events/{event_id}/redeliver",
    "POST",
    auth="admin",
    response=M + "RedeliveryOut",
    status=202,
    tag="admin",
)
def redeliver_event(ctx: Ctx, _: Any, event_id: str) -> Staged:
    """Send an event again now, with a fresh retry schedule, to the endpoints it went to."""
    uow = ctx.uow()
    return Staged(uow, event_log.redeliver(ctx.deps, uow, event_id))
