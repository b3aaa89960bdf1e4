"""Reading the audit log: entries of one entity, newest first (one Query on its partition)."""

from __future__ import annotations

from typing import Any

FIELDS = ("entity_id", "action", "actor", "at", "before", "after", "data", "event_type")


def entries(table: Any, entity_id: str, limit: int = 100) -> list[dict]:
    """The newest `limit` audit entries of `entity_id` (e.g. "member#m_1", "scenario#books")."""
    items = table.query("pk = :p", {":p": f"AUDIT#{entity_id}"}, forward=False, limit=limit)
    return [
        {k: item.get(k) for k in FIELDS}
        | {"before": item.get("before") or {}, "after": item.get("after") or {}, "data": item.get("data") or {}}
        for item in items
    ]
