"""Alipay OpenAPI wire format: money as yuan strings, Beijing time, RSA2 sign content, signed answers.

Pure functions (no I/O) so the exact bytes can be tested against Alipay's own vectors.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from urllib.parse import parse_qsl

from ..domain.errors import InvalidSignature
from . import keys

# Asia/Shanghai has had no daylight saving since 1991: a fixed +08:00 needs no tz database in the Lambda.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")
# out_trade_no / out_order_no / out_request_no / transaction_id: "仅支持字母、数字、下划线", at most 64
# (alipay-sdk-net-all v2 Domain/AlipayTradePayModel.cs out_trade_no, AlipayFundAuthOrderAppFreezeModel.cs
# out_order_no + out_request_no, ZhimaCreditScoreBriefGetModel.cs transaction_id).
REQUEST_NO = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_YUAN_FEN = 100_000_000_00  # amounts: [0.01, 100000000] yuan (the same models' amount / total_amount)


def wire_no(number: str) -> str:
    """Our request number as Alipay takes it: already letters, digits and underscores (the port's numbers
    are); anything else is aliased deterministically (every other character becomes '_')."""
    wire = re.sub(r"[^A-Za-z0-9_]", "_", number)[:64]
    if not REQUEST_NO.fullmatch(wire):
        raise ValueError(f"no usable request number in {number!r}")
    return wire


def positive_yuan(fen_amount: int) -> str:
    """An amount Alipay accepts for a money operation: [0.01, 100000000.00] yuan."""
    if not 1 <= fen_amount <= MAX_YUAN_FEN:
        raise ValueError(f"alipay amounts are 0.01..100000000.00 yuan, got {fen_amount} fen")
    return yuan(fen_amount)


def text_limit(text: str, letters: int) -> str:
    """Cut `text` to Alipay's "N letters or N/2 Chinese characters" (non-ASCII counts double)."""
    used, out = 0, []
    for ch in text:
        used += 1 if ord(ch) < 128 else 2
        if used > letters:
            break
        out.append(ch)
    return "".join(out)


def plain_subject(text: str, limit: int = 256) -> str:
    """A trade subject: "不可使用特殊字符，如 /，=，& 等" and at most 256 characters
    (alipay-sdk-net-all v2 Domain/AlipayTradePayModel.cs subject)."""
    cleaned = re.sub(r"[/=&]", " ", text).strip() or "order"
    return cleaned[:limit]


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
    """Notifications: drop `sign` and `sign_type` and empty values, sort, join k=v with &
    (alipay-sdk-java-all internal/util/AlipaySignature.java getSignCheckContentV1: areNotEmpty(key, value))."""
    return "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v not in (None, "")
    )


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


def signed_node(raw: bytes, method: str) -> tuple[dict, str, str | None, str | None]:
    """Split an OpenAPI answer into (node, the node's exact source text, sign, alipay_cert_sn).

    Alipay signs the node's JSON text exactly as sent, so it is cut out of the raw answer with the JSON
    decoder's own end position rather than re-serialised (as AlipaySignature.extractSignContent does).
    In certificate mode the answer also names the certificate that signed it: `alipay_cert_sn`.
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
    return node, text[start:end], outer.get("sign"), outer.get("alipay_cert_sn")
