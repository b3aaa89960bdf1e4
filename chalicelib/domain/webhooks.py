"""Webhooks to the merchant's own systems (PRODUCT.md 8): event-type filters, the signature, the retry
schedule, stable event ids and which destinations an outbound call may reach. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from datetime import datetime, timedelta

from .errors import ValidationFailed

# After the first attempt fails: 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 24 h (about 3 days), then `failed`.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=24),
)
MAX_ATTEMPTS = 1 + len(RETRY_SCHEDULE)
TIMEOUT_SECONDS = 10
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long after a rotation
EVENT_RETENTION = timedelta(days=30)
FAILING_AFTER = 3  # consecutive failed attempts that flag an endpoint on the dashboard
MAX_PATTERNS = 50

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


def validate_patterns(patterns: list[str], known: set[str]) -> list[str]:
    """Event-type filters: exact catalogued types, `prefix.*` (any type under the prefix) or `*` (all).
    A pattern that can match no catalogued type is a typo, refused rather than silently never matching."""
    if not patterns:
        raise ValidationFailed("events: at least one event type or pattern", "events")
    if len(patterns) > MAX_PATTERNS:
        raise ValidationFailed(f"events: at most {MAX_PATTERNS} patterns", "events")
    for p in patterns:
        if not _PATTERN.match(p):
            raise ValidationFailed(f"events: {p!r} is not an event type, `prefix.*` or `*`", "events")
        if not any(matches(p, t) for t in known):
            raise ValidationFailed(f"events: {p!r} matches no event type", "events")
    return list(dict.fromkeys(patterns))


def matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def wants(patterns: list[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def event_id(pk: str, sk: str) -> str:
    """The stable id of the event recorded by the audit entry (pk, sk): every delivery, retry and
    redelivery carries the same id, so a receiver dedupes on it."""
    return "evt_" + hashlib.sha256(f"{pk}\n{sk}".encode()).hexdigest()[:24]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256 of "t.body" under `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex>[,v1=<hex>]`: one v1 per secret that signs now (two during a rotation)."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def signing_secrets(endpoint: dict, now: datetime) -> list[str]:
    """The current secret, plus the previous one while its 24 h overlap lasts."""
    out = [endpoint["secret"]]
    old, until = endpoint.get("old_secret"), endpoint.get("old_secret_until")
    if old and until and now < datetime.fromisoformat(until.replace("Z", "+00:00")):
        out.append(old)
    return out


def next_attempt(attempts_in_round: int, now: datetime) -> datetime | None:
    """After the `attempts_in_round`-th failed attempt: when to try again, or None when it is the last."""
    if attempts_in_round >= MAX_ATTEMPTS:
        return None
    return now + RETRY_SCHEDULE[attempts_in_round - 1]


def delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


# -- where an outbound call may go (SSRF) ------------------------------------------------------------


def check_url(url: str, local: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL; only https outside stage `local`, no credentials in it."""
    from urllib.parse import urlsplit

    if len(url) > 2048:
        raise ValidationFailed("url: at most 2048 characters", "url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed("url: not a valid URL", "url") from exc
    allowed = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise ValidationFailed("url: must be an https URL" if not local else "url: must be an http(s) URL", "url")
    if parts.username or parts.password:
        raise ValidationFailed("url: must not carry credentials", "url")
    if parts.fragment:
        raise ValidationFailed("url: must not carry a fragment", "url")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def internal_address(address: str) -> bool:
    """Loopback, link-local (cloud metadata), private, shared, reserved or unspecified: never a merchant's."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_multicast
        or ip in ipaddress.ip_network("100.64.0.0/10")
    )
