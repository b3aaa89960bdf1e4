"""expire_group_teams: teams whose deadline has come (or whose seats are all taken and not yet settled)
go to `team-timers`; the worker closes each (full / virtual_full / failed) and settles its seats."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.growth import settle
from ..services.growth.teams import QUEUE, TIMER_KIND
from .registry import enqueue_due


def expire_group_teams(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, TIMER_KIND, QUEUE, now)


def team_timer(deps: Deps, body: dict) -> None:
    settle.on_timer(deps, body["pk"], body["sk"])
