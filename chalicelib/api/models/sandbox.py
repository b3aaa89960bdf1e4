"""The sandbox clock and run-everything-now."""

from __future__ import annotations

from pydantic import Field

from ..common import Body, Out


class ClockIn(Body):
    advance_seconds: int = Field(ge=0, le=10 * 366 * 24 * 3600)


class ClockOut(Out):
    now: str


class JobsIn(Body):
    pass


class JobsOut(Out):
    processed: dict[str, int]
