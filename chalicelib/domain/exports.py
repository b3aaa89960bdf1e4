"""CSV exports (PRODUCT.md 8): which domain events index a record for which export, and the columns.

An audit entry of one of these event types is written with an entry on the sparse `list` index under
"export#<export>#<YYYY-MM-DD>#<shard>" (the day of the change, UTC; store/day_index.py), so an export of
a date range is one paged Query per day and shard, and never a Scan.
"""

from __future__ import annotations

EXPORT_OF_EVENT: dict[str, str] = {
    "order.created": "orders",
    "rental.created": "rentals",
    "order.charged": "charges",
    "booking.charged": "charges",
    "booking.fee_charged": "charges",
    "rental.deducted": "charges",
    "rental.closed": "charges",  # the rent taken from the freeze at settlement
    "order.refunded": "refunds",
}
EXPORTS = ("orders", "rentals", "charges", "refunds")

COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": (
        "id",
        "created_at",
        "member_id",
        "provider",
        "kind",
        "scenario",
        "status",
        "amount",
        "discount",
        "payable",
        "charged",
        "refunded",
    ),
    "rentals": (
        "id",
        "created_at",
        "member_id",
        "provider",
        "scenario",
        "item_id",
        "status",
        "item_value",
        "daily_rent",
        "days",
        "rent",
        "frozen_amount",
        "deposit_amount",
        "deducted_amount",
    ),
    "charges": ("at", "object_type", "object_id", "kind", "amount", "out_request_no"),
    "refunds": ("at", "order_id", "amount", "status"),
}


def index_prefix(export: str) -> str:
    """The export's day listings: "<prefix>#<day>#<shard>" (store/day_index.py)."""
    return f"export#{export}"


def money_row(export: str, entry: dict) -> dict | None:
    """A charges/refunds row from the audit entry of the event, or None when it moved no money."""
    kind, after, data = entry.get("event_type", ""), entry.get("after") or {}, entry.get("data") or {}
    object_type, _, object_id = entry["entity_id"].partition("#")
    if export == "refunds":
        return {
            "at": entry["at"],
            "order_id": object_id,
            "amount": int(after.get("amount", 0)),
            "status": after.get("status", ""),
        }
    amount = int(after.get("rent_charged", 0) if kind == "rental.closed" else after.get("amount", 0))
    if amount <= 0:
        return None
    return {
        "at": entry["at"],
        "object_type": object_type,
        "object_id": object_id,
        "kind": "rent" if kind == "rental.closed" else kind.split(".", 1)[1],
        "amount": amount,
        "out_request_no": after.get("out_request_no") or data.get("out_request_no") or "",
    }
