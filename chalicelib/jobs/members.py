"""expire_authorizations: snapshots past their 30 days are deleted."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.members import credit
from .registry import enqueue_due


def expire_authorizations(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, "member", "member-timers", now)


def expire_one(deps: Deps, body: dict) -> None:
    credit.expire_snapshot(deps, body["pk"].split("#", 1)[1])
