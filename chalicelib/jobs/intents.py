"""close_orphaned_intents: provider orders opened for a request whose own commit never came."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services import intents
from .registry import enqueue_due


def close_orphaned_intents(deps: Deps, now: datetime) -> int:
    return enqueue_due(deps, "intent", "provider-intents", now)


def close_orphan(deps: Deps, body: dict) -> None:
    intents.close_orphan(deps, body["pk"], body["sk"])
