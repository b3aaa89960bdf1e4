"""Reading the sandbox provider's ledger (SBX#op#<our request number>) for an order or booking."""

from __future__ import annotations

from typing import Any


def ops(aws: Any, object_id: str, kind: str, upto: int = 8) -> list[dict]:
    found = []
    for n in range(1, upto + 1):
        op = aws.table.get(f"SBX#op#{object_id}_{kind}{n}", "OP")
        if op:
            found.append(op)
    return found


def charged(aws: Any, object_id: str) -> int:
    return sum(int(o["amount"]) for o in ops(aws, object_id, "charge") if o["status"] == "succeeded")


def refunded(aws: Any, object_id: str) -> int:
    return sum(int(o["amount"]) for o in ops(aws, object_id, "rfd") if o["status"] == "succeeded")


def paid(aws: Any, object_id: str) -> int:
    """What the member paid, by the provider's ledger."""
    return charged(aws, object_id) - refunded(aws, object_id)
