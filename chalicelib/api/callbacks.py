"""Provider callbacks: no session, a valid provider signature instead."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.errors import DomainError, NotFound, ProviderNotConfigured
from ..lazy import Lazy
from .errors import from_domain
from .routing import Ctx, route

callbacks = Lazy("chalicelib.services.callbacks")

bp = Blueprint(__name__)

ANY_BODY = ["application/json", "application/x-www-form-urlencoded", "text/plain"]


def _handle(ctx: Ctx, provider: str) -> Response:
    request = ctx.request
    try:
        ack = callbacks.handle(ctx.deps, provider, dict(request.headers), request.raw_body or b"")
    except ProviderNotConfigured:
        return from_domain(NotFound(f"{provider} notifications are not enabled on this deployment"))
    except DomainError as exc:
        return from_domain(exc)
    return Response(body=ack.body, status_code=ack.status, headers={"Content-Type": ack.content_type})


@route(
    bp,
    "/v1/callbacks/sandbox",
    "POST",
    auth="none",
    raw=True,
    content_types=ANY_BODY,
    tag="callbacks",
    sandbox_only=True,
)
def sandbox_callback(ctx: Ctx) -> Response:
    """The sandbox provider's HMAC-signed notifications."""
    return _handle(ctx, "sandbox")


@route(bp, "/v1/callbacks/alipay", "POST", auth="none", raw=True, content_types=ANY_BODY, tag="callbacks")
def alipay_callback(ctx: Ctx) -> Response:
    """Alipay asynchronous notifications (form, RSA2); the bare body `success` once handled."""
    return _handle(ctx, "alipay")


@route(bp, "/v1/callbacks/wechat", "POST", auth="none", raw=True, content_types=ANY_BODY, tag="callbacks")
def wechat_callback(ctx: Ctx) -> Response:
    """WeChat Pay v3 notifications (signed headers, AES-GCM resource); 204 once handled."""
    return _handle(ctx, "wechat")
