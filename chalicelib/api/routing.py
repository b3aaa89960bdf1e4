"""One decorator per route: auth, pydantic body/query validation, idempotency, commit, error envelope.

Every route is also recorded in ROUTES with its models, which is what /v1/openapi.json is built from.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from chalice import Blueprint, Response

from ..domain.errors import Conflict, DomainError, NotFound
from ..lazy import Lazy
from ..log import logger
from .auth import Principal, authenticate
from .errors import JSON, envelope, from_domain, from_validation

if TYPE_CHECKING:
    from ..ports import Deps
    from ..store.uow import UnitOfWork

# Loaded by the first request, not at import: a cold start imports only the routes.
bootstrap = Lazy("chalicelib.bootstrap")
store_uow = Lazy("chalicelib.store.uow")
idempotency = Lazy("chalicelib.api.idempotency")

JSON_TYPES = ["application/json"]
MAX_ATTEMPTS = 6
MODELS_PACKAGE = "chalicelib.api.models"

ModelRef = "type[BaseModel] | str | None"


def resolve(ref: Any) -> Any:
    """A model class, or "area:Name" for chalicelib.api.models.area.Name, imported on first use
    (pydantic stays off the cold-import path; see bench/foundation.py)."""
    if ref is None or not isinstance(ref, str):
        return ref
    module, name = ref.split(":")
    return getattr(importlib.import_module(f"{MODELS_PACKAGE}.{module}"), name)


@dataclass
class RouteSpec:
    """What the OpenAPI document says about a route; models resolve lazily."""

    path: str
    method: str
    auth: str
    body_ref: Any
    query_ref: Any
    response_ref: Any
    status: int
    summary: str
    tag: str
    content_types: list[str] = field(default_factory=lambda: list(JSON_TYPES))
    sandbox_only: bool = False

    @functools.cached_property
    def body(self) -> Any:
        return resolve(self.body_ref)

    @functools.cached_property
    def query(self) -> Any:
        return resolve(self.query_ref)

    @functools.cached_property
    def response(self) -> Any:
        return resolve(self.response_ref)


ROUTES: list[RouteSpec] = []


@dataclass
class Staged:
    """A handler's answer that still has to be committed: the writes and the result to present."""

    uow: UnitOfWork
    result: Any
    status: int | None = None


@dataclass
class Ctx:
    """Per-request context handed to handlers."""

    deps: Deps
    principal: Principal | None
    request: Any
    _now: datetime | None = None
    slot: Any = None  # the Idempotency-Key's slot, when the request carries one
    _ids: dict[str, str] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        if self._now is None:
            self._now = self.deps.clock.now()
        return self._now

    @property
    def member_id(self) -> str:
        if not self.principal or not self.principal.member_id:
            raise NotFound("no member")
        return self.principal.member_id

    def object_id(self, prefix: str) -> str:
        """The id of the object this request creates, chosen once per request: derived from the
        Idempotency-Key when there is one (a retried request names the same object, and so the same
        provider order), else random but kept across the route's own contention retries."""
        if prefix not in self._ids:
            seed = (
                hashlib.sha256(f"{prefix}\n{self.slot.pk}".encode()).hexdigest() if self.slot else secrets.token_hex(10)
            )
            self._ids[prefix] = f"{prefix}_{seed[:20]}"
        return self._ids[prefix]

    def uow(self) -> UnitOfWork:
        actor = self.principal.caller if self.principal else "provider"
        return store_uow.UnitOfWork(self.deps.table, self.now, actor, self.deps.queues.send)


def _present(model: Any, result: Any) -> Any:
    if result is None:
        return None
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if model is not None:
        return model.model_validate(result).model_dump(mode="json")
    return result


def _response(status: int, body: str | None, replayed: bool = False) -> Response:
    headers = dict(JSON)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=body if body is not None else "", status_code=status, headers=headers)


def _parse_body(spec: RouteSpec, raw: bytes) -> Any:
    if spec.body is None:
        return None
    return spec.body.model_validate_json(raw.strip() or b"{}", strict=True)


def _parse_query(spec: RouteSpec, query: dict | None) -> Any:
    return spec.query.model_validate(dict(query or {})) if spec.query else None


def route(
    bp: Blueprint,
    path: str,
    method: str,
    *,
    auth: str,
    body: Any = None,
    query: Any = None,
    response: Any = None,
    status: int = 200,
    summary: str = "",
    tag: str = "",
    content_types: list[str] | None = None,
    raw: bool = False,
    sandbox_only: bool = False,
) -> Callable:
    """Register `fn(ctx, body|query|None, **path_params)` on the blueprint. raw=True: fn returns a Response."""

    def decorate(fn: Callable) -> Callable:
        spec = RouteSpec(
            path,
            method,
            auth,
            body,
            query,
            response,
            status,
            summary or (fn.__doc__ or "").strip(),
            tag,
            content_types or list(JSON_TYPES),
            sandbox_only,
        )
        ROUTES.append(spec)

        @bp.route(path, methods=[method], content_types=spec.content_types)
        @functools.wraps(fn)
        def view(**params: str) -> Response:
            return _dispatch(bp.current_request, spec, fn, params, raw)

        return fn

    return decorate


def _dispatch(request: Any, spec: RouteSpec, fn: Callable, params: dict, raw: bool) -> Response:
    from pydantic import ValidationError

    d = bootstrap.deps()
    missing = d.settings.misconfigured()
    if missing:  # never a working API with a guessable key
        logger.error("misconfigured: every route answers 503", extra={"settings": missing})
        return envelope(503, "misconfigured", "this deployment is not configured; its operators have been told")
    if spec.sandbox_only and not d.settings.sandbox_enabled:
        return from_domain(NotFound("no such route"))
    try:
        principal = authenticate(request.headers, spec.auth, d.settings.session_secret, d.settings.admin_key)
        ctx = Ctx(d, principal, request)
        if raw:
            return fn(ctx, **params)
        raw_body = request.raw_body or b""
        parsed = _parse_body(spec, raw_body) if spec.body else _parse_query(spec, request.query_params)
    except DomainError as exc:
        return from_domain(exc)
    except ValidationError as exc:
        return from_validation(exc)
    slot = None
    if spec.method == "POST":
        try:
            slot = idempotency.make_slot(
                ctx.principal.caller if ctx.principal else "anonymous",
                request.headers.get("idempotency-key"),
                spec.method,
                spec.path.format(**params),
                raw_body,
                ctx.now,
            )
            stored = idempotency.lookup(d.table, slot) if slot else None
            ctx.slot = slot
        except DomainError as exc:
            return from_domain(exc)
        if stored:
            return _response(stored.status, stored.body, replayed=True)
    return _run(ctx, spec, fn, parsed, params, slot)


def _run(ctx: Ctx, spec: RouteSpec, fn: Callable, parsed: Any, params: dict, slot: idempotency.Slot | None) -> Response:
    from pydantic import ValidationError

    for _attempt in range(MAX_ATTEMPTS):
        try:
            out = fn(ctx, parsed, **params)
            if isinstance(out, Staged):
                status = out.status or spec.status
                body = idempotency.dumps(_present(spec.response, out.result))
                if slot:
                    idempotency.stage(out.uow, slot, status, body)
                out.uow.commit()
                return _response(status, body)
            status = spec.status if out is not None or spec.status != 200 else 204
            body = idempotency.dumps(_present(spec.response, out)) if out is not None else None
            return _finish_plain(ctx, slot, status, body)
        except store_uow.Retry:
            ctx._now = None  # a fresh read and a fresh clock on the next attempt
            continue
        except idempotency.ReplayRace:
            return _replay(ctx, slot)  # type: ignore[arg-type]
        except DomainError as exc:
            resp = from_domain(exc)
            if slot and exc.status in (400, 404, 409, 422) and exc.code not in ("conflict", "idempotency_in_progress"):
                return _finish_plain(ctx, slot, exc.status, resp.body)
            return resp
        except ValidationError as exc:
            return from_validation(exc)
    return from_domain(Conflict("too much contention; try again"))  # 409: the same request may succeed later


def _replay(ctx: Ctx, slot: idempotency.Slot) -> Response:
    """A concurrent request with this key won: its answer, or 422/409 when it had another body / still runs."""
    try:
        stored = idempotency.replay_winner(ctx.deps.table, slot)
    except DomainError as exc:
        return from_domain(exc)
    return _response(stored.status, stored.body, replayed=True)


def _finish_plain(ctx: Ctx, slot: idempotency.Slot | None, status: int, body: str | None) -> Response:
    if slot:
        try:
            winner = idempotency.save_alone(ctx.deps.table, slot, status, body or "")
        except DomainError as exc:  # the winner had another body (422) or is still running (409)
            return from_domain(exc)
        if winner:
            return _response(winner.status, winner.body or None, replayed=True)
    if status == 204:
        return Response(body="", status_code=204, headers={})
    return _response(status, body)


def json_response(status: int, body: Any) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers=dict(JSON))
