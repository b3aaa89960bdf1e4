"""Our request numbers at the providers: `<object id>_<purpose>[<n>]`.

Alipay's out_trade_no / out_request_no / out_order_no / transaction_id take letters, digits and underscores
only (alipay-sdk-java-all domain/AlipayTradePayModel.java, AlipayFundAuthOrderUnfreezeModel.java,
ZhimaCreditScoreBriefGetModel.java field comments); WeChat Pay Score's out_order_no takes 6-32 characters
(wechatpayv3 payscore.py). So a number is [A-Za-z0-9_]{6,32}, and is derived from what is stable across a
retry (the object id chosen once, the operation and its attempt), so a repeat is the same request there.
Object ids are `<prefix>_<hex>` (rt_, ord_, bkg_, trl_, m_): the purpose follows the second underscore.
Purposes are short where the count can pass 9 (`rfd` for the n-th refund of a 24-character order id);
charge attempts stay under 10 (1 + policy.charge_retries).
"""

from __future__ import annotations

import re

VALID = re.compile(r"^[A-Za-z0-9_]{6,32}$")
PURPOSE = re.compile(r"^(?P<name>[a-z]+)(?P<n>\d*)$")


def number(object_id: str, purpose: str, n: int | None = None) -> str:
    """`rt_ab12_freeze`, `ord_ab12_charge2`; refuses anything a provider would refuse."""
    text = f"{object_id}_{purpose}{'' if n is None else n}"
    if not VALID.match(text) or not PURPOSE.match(f"{purpose}{'' if n is None else n}"):
        raise ValueError(f"not a valid request number: {text!r}")
    return text


def split(text: str | None) -> tuple[str, str, int | None] | None:
    """(object id, purpose, n) of one of our numbers; None for anything else."""
    if not text or not VALID.match(text):
        return None
    parts = text.split("_")
    if len(parts) != 3:
        return None
    match = PURPOSE.match(parts[2])
    if not match:
        return None
    return f"{parts[0]}_{parts[1]}", match["name"], int(match["n"]) if match["n"] else None


def object_of(text: str | None, prefix: str, purpose: str | None = None) -> str | None:
    """The object id behind a number when it is one of `prefix`'s (and of `purpose`, if given)."""
    found = split(text)
    if not found or not found[0].startswith(f"{prefix}_") or (purpose and found[1] != purpose):
        return None
    return found[0]


def consent_number(member_id: str, at_seconds: int) -> str:
    """A credit consent's number: `<member id>_a<seconds in base 36>` (fits 32 with a 22-character id)."""
    digits, value, out = "0123456789abcdefghijklmnopqrstuvwxyz", at_seconds, ""
    while True:
        value, r = divmod(value, 36)
        out = digits[r] + out
        if not value:
            break
    text = f"{member_id}_a{out}"
    if not VALID.match(text):
        raise ValueError(f"not a valid request number: {text!r}")
    return text
