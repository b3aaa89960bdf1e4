"""Member-day reminders (PRODUCT.md 6): on which day the reminder of which month's credit day goes out (pure)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from .credit import Tier
from .states import guarded

REMINDED_TIERS: tuple[str, ...] = (str(Tier.SILVER), str(Tier.GOLD))


class ReminderStatus(StrEnum):
    """Where one member's reminder for one month stands (a new record is claimed straight as `sending`)."""

    SENDING = "sending"
    """Claimed by one delivery, which calls the provider; no other delivery sends it."""
    SENT = "sent"
    """The provider accepted it; the member may confirm the month once."""
    FAILED = "failed"
    """The provider refused it or did not answer; a later run may claim it again."""


RS = ReminderStatus
TRANSITIONS: dict[ReminderStatus, frozenset[ReminderStatus]] = {
    RS.SENDING: frozenset({RS.SENT, RS.FAILED}),
    RS.SENT: frozenset(),
    RS.FAILED: frozenset({RS.SENDING}),
}


def transition(current: str, target: str) -> ReminderStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a reminder", current, target)


def credit_date(month: str, credit_day: int) -> date:
    """The month's credit day, clamped to the month (day 31 in a 30-day month is the 30th)."""
    year, mon = (int(p) for p in month.split("-"))
    return date(year, mon, min(max(credit_day, 1), calendar.monthrange(year, mon)[1]))


def reminder_month(now: datetime, credit_day: int) -> str | None:
    """'YYYY-MM' of the credit day that is tomorrow, when `now` is the day before it; else None."""
    tomorrow = (now + timedelta(days=1)).date()
    month = tomorrow.strftime("%Y-%m")
    return month if credit_date(month, credit_day) == tomorrow else None


def confirmable_months(now: datetime) -> tuple[str, ...]:
    """Months a confirmation may be for: today's, and tomorrow's when it is another (a credit day on the 1st)."""
    today, tomorrow = now.strftime("%Y-%m"), (now + timedelta(days=1)).strftime("%Y-%m")
    return (today,) if today == tomorrow else (tomorrow, today)


@dataclass(frozen=True)
class Reminder:
    """What a reminder says: the month, its credit day, and the mini-program page it opens."""

    month: str
    credit_date: date
    title: str
    page: str

    def request_no(self, member_id: str) -> str:
        return f"{member_id}_rmd_{self.month.replace('-', '')}"
