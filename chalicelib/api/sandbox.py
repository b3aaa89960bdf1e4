"""Sandbox-only routes (stages local and sandbox; 404 elsewhere): the movable clock and run-everything-now."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from ..clock import iso
from ..lazy import Lazy
from .routing import Ctx, route

runner = Lazy("chalicelib.jobs.runner")

bp = Blueprint(__name__)


@route(bp, "/v1/sandbox/clock", "GET", auth="none", response="sandbox:ClockOut", tag="sandbox", sandbox_only=True)
def get_clock(ctx: Ctx, _: None) -> dict:
    """The application clock."""
    return {"now": iso(ctx.deps.clock.now())}


@route(
    bp,
    "/v1/sandbox/clock",
    "POST",
    auth="none",
    body="sandbox:ClockIn",
    response="sandbox:ClockOut",
    tag="sandbox",
    sandbox_only=True,
)
def advance_clock(ctx: Ctx, body: Any) -> dict:
    """Move the application clock forward for every route, job and worker."""
    return {"now": iso(ctx.deps.clock.advance(body.advance_seconds))}


@route(
    bp,
    "/v1/sandbox/jobs/run",
    "POST",
    auth="none",
    body="sandbox:JobsIn",
    response="sandbox:JobsOut",
    tag="sandbox",
    sandbox_only=True,
)
def run_jobs(ctx: Ctx, body: Any) -> dict:
    """Run every scheduled job now, deliver sandbox notifications, drain every queue."""
    return {"processed": runner.run_all(ctx.deps)}
