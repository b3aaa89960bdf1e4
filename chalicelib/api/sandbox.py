"""Sandbox-only routes (stages local and sandbox; 404 elsewhere): the movable clock and run-everything-now."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from ..clock import iso
from ..jobs.runner import run_all
from .common import Body, Out
from .routing import Ctx, route

bp = Blueprint(__name__)


class ClockIn(Body):
    advance_seconds: int = Field(ge=0, le=10 * 366 * 24 * 3600)


class ClockOut(Out):
    now: str


class JobsIn(Body):
    pass


class JobsOut(Out):
    processed: dict[str, int]


@route(bp, "/v1/sandbox/clock", "GET", auth="none", response=ClockOut, tag="sandbox", sandbox_only=True)
def get_clock(ctx: Ctx, _: None) -> dict:
    """The application clock."""
    return {"now": iso(ctx.deps.clock.now())}


@route(bp, "/v1/sandbox/clock", "POST", auth="none", body=ClockIn, response=ClockOut, tag="sandbox", sandbox_only=True)
def advance_clock(ctx: Ctx, body: ClockIn) -> dict:
    """Move the application clock forward for every route, job and worker."""
    return {"now": iso(ctx.deps.clock.advance(body.advance_seconds))}


@route(bp, "/v1/sandbox/jobs/run", "POST", auth="none", body=JobsIn, response=JobsOut, tag="sandbox", sandbox_only=True)
def run_jobs(ctx: Ctx, body: JobsIn) -> dict:
    """Run every scheduled job now, deliver sandbox notifications, drain every queue."""
    return {"processed": run_all(ctx.deps)}
