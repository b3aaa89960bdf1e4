"""What an adapter asked a provider, keyed by our request number.

A real provider's reconciliation query and notifications name only their own fields (out_trade_no,
out_order_no, ...); this record tells the adapter which API to ask and what kind of operation a
notification closes. First write wins, so a retried request keeps its original facts.
"""

from __future__ import annotations

from typing import Any

from ..store.dynamo import ConditionFailed


def _key(provider: str, out_request_no: str) -> tuple[str, str]:
    return f"PROV#{provider}#op#{out_request_no}", "OP"


def remember(table: Any, provider: str, out_request_no: str, kind: str, **facts: Any) -> dict:
    """Record an outbound operation once; a repeat returns the first record."""
    pk, sk = _key(provider, out_request_no)
    item = {
        "pk": pk,
        "sk": sk,
        "kind": kind,
        "out_request_no": out_request_no,
        **{k: v for k, v in facts.items() if v is not None},
    }
    try:
        table.put(item, condition="attribute_not_exists(pk)")
        return item
    except ConditionFailed:
        return table.get(pk, sk) or item


def recall(table: Any, provider: str, out_request_no: str | None) -> dict | None:
    """The recorded operation for one of our request numbers (None: never asked)."""
    if not out_request_no:
        return None
    return table.get(*_key(provider, out_request_no))


def note(table: Any, provider: str, out_request_no: str, **facts: Any) -> None:
    """Add facts learnt later (e.g. the amount already taken from a service order)."""
    facts = {k: v for k, v in facts.items() if v is not None}
    if not facts:
        return
    table.update(*_key(provider, out_request_no), set=facts)
