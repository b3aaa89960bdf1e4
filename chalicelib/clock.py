"""The one clock: UTC now plus the sandbox offset. Nothing else calls datetime.now()."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable


def utc(dt: datetime) -> datetime:
    """Refuse naive datetimes; normalise aware ones to UTC."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    return dt.astimezone(timezone.utc)


def iso(dt: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z, sortable as text."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a zone; naive input is an error."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return utc(dt)


class Clock:
    """Base clock: real UTC time plus an offset in seconds."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset_seconds())

    def offset_seconds(self) -> float:
        return 0.0


class SystemClock(Clock):
    """Production: real time, no offset."""


class FixedClock(Clock):
    """Tests: a clock that only moves when told."""

    def __init__(self, at: datetime) -> None:
        self._at = utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float) -> datetime:
        self._at += timedelta(seconds=seconds)
        return self._at


class OffsetClock(Clock):
    """Sandbox: real time plus an offset persisted in the store so every process agrees.

    The offset is cached briefly; `set_offset` updates this process at once.
    """

    def __init__(self, load: Callable[[], float], save: Callable[[float], None], cache_seconds: float) -> None:
        self._load, self._save, self._ttl = load, save, cache_seconds
        self._cached: tuple[float, float] | None = None  # (offset, fetched_at)
        self._lock = threading.Lock()

    def offset_seconds(self) -> float:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[1] < self._ttl:
                return self._cached[0]
        offset = self._load()
        with self._lock:
            self._cached = (offset, time.monotonic())
        return offset

    def advance(self, seconds: float) -> datetime:
        offset = self.offset_seconds() + seconds
        self._save(offset)
        with self._lock:
            self._cached = (offset, time.monotonic())
        return self.now()
