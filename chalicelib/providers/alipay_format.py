"""Alipay OpenAPI wire format: money as yuan strings, Beijing time, RSA2 sign content, signed answers.

Pure functions (no I/O) so the exact bytes can be tested against Alipay's own vectors.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from urllib.parse import parse_qsl

from ..domain.errors import InvalidSignature
from . import keys

# Asia/Shanghai has had no daylight saving since 1991: a fixed +08:00 needs no tz database in the Lambda.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")


def yuan(fen: int) -> str:
    """Integer fen -> Alipay's yuan string, exactly (12345 -> '123.45')."""
    if not isinstance(fen, int) or isinstance(fen, bool) or fen < 0:
        raise ValueError(f"amount must be non-negative integer fen, got {fen!r}")
    return str((Decimal(fen) / 100).quantize(CENT))


def fen(yuan_text: str | None) -> int | None:
    """Alipay's yuan string -> integer fen; anything not a whole number of fen is refused."""
    if yuan_text in (None, ""):
        return None
    try:
        value = Decimal(str(yuan_text)) * 100
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {yuan_text!r}") from exc
    if value != value.to_integral_value():
        raise ValueError(f"amount has fractions of a fen: {yuan_text!r}")
    return int(value)


def beijing_time(at: datetime) -> str:
    """'yyyy-MM-dd HH:mm:ss' in Beijing time, the only timestamp form Alipay takes."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def from_beijing(text: str | None) -> datetime | None:
    """An Alipay 'yyyy-MM-dd HH:mm:ss' back to an aware datetime."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def request_sign_content(params: Mapping[str, str]) -> str:
    """Outbound: every non-empty parameter but `sign`, sorted by name, joined k=v with &."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v not in (None, ""))


def notify_sign_content(params: Mapping[str, str]) -> str:
    """Notifications: drop `sign` and `sign_type`, sort, join k=v with & (empty values included)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type"))


def parse_form(raw: bytes) -> dict[str, str]:
    """The raw form body as given: UTF-8, no duplicate names (a duplicate could hide a tampered value)."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignature("notification body is not a UTF-8 form") from exc
    params = dict(pairs)
    if len(params) != len(pairs):
        raise InvalidSignature("notification repeats a parameter")
    return params


def verify_notification(params: Mapping[str, str], public_key: Any) -> None:
    """RSA2 over the sorted raw parameters with Alipay's public key; raises InvalidSignature."""
    if params.get("sign_type", "RSA2") != "RSA2" or not params.get("sign"):
        raise InvalidSignature("alipay notification is not RSA2-signed")
    if not keys.verify(public_key, notify_sign_content(params).encode("utf-8"), params["sign"]):
        raise InvalidSignature("bad alipay notification signature")


def signed_node(raw: bytes, method: str) -> tuple[dict, str, str | None]:
    """Split an OpenAPI answer into (node, the node's exact source text, sign).

    Alipay signs the node's JSON text exactly as sent, so it is cut out of the raw answer with the JSON
    decoder's own end position rather than re-serialised.
    """
    text = raw.decode("utf-8")
    outer = json.loads(text)
    for name in (method.replace(".", "_") + "_response", "error_response"):
        if name in outer:
            break
    else:
        raise ValueError(f"answer has no {method} node")
    after_key = text.index(f'"{name}"') + len(name) + 2
    start = text.index(":", after_key) + 1
    while text[start] in " \t\r\n":
        start += 1
    node, end = json.JSONDecoder().raw_decode(text, start)
    return node, text[start:end], outer.get("sign")
