"""send_credit_day_reminders (the day before the credit day, once a month) and the reminders worker."""

from __future__ import annotations

from datetime import datetime

from ..ports import Deps
from ..services.growth import reminders


def send_credit_day_reminders(deps: Deps, now: datetime) -> int:
    return reminders.fan_out(deps, now)


def send_reminders(deps: Deps, body: dict) -> None:
    reminders.send_batch(deps, body["month"], body["members"])
