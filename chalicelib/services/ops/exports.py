"""CSV exports of orders, rentals, charges and refunds for a date range (domain/exports.py).

Per day: one paged Query on the export index (the audit entries of the indexing events, in time
order); orders and rentals then read their current item by key, 100 per BatchGetItem. Rows are
produced one page at a time; nothing holds the whole range.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any, Iterator

from ...domain.exports import COLUMNS, index_prefix, money_row
from ...store.day_index import read_day

PAGE = 100
ITEM_KEYS = {"orders": ("ORDER#{}", "ORDER"), "rentals": ("RENTAL#{}", "RENTAL")}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _entries(table: Any, export: str, from_day: date, to_day: date) -> Iterator[dict]:
    day = from_day
    while day <= to_day:
        yield from read_day(table, index_prefix(export), day.isoformat())
        day += timedelta(days=1)


def _chunks(entries: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rows(table: Any, export: str, from_day: date, to_day: date) -> Iterator[dict]:
    """The export's records created (or, for money, moved) within [from_day, to_day], oldest first."""
    entries = _entries(table, export, from_day, to_day)
    if export not in ITEM_KEYS:
        for entry in entries:
            row = money_row(export, entry)
            if row:
                yield row
        return
    pk_fmt, sk = ITEM_KEYS[export]
    for chunk in _chunks(entries, PAGE):
        keys = [(pk_fmt.format(e["entity_id"].partition("#")[2]), sk) for e in chunk]
        found = table.batch_get(keys)
        for k in keys:
            if k in found:
                yield found[k]


def _cell(value: Any) -> Any:
    """Numbers as numbers; text that a spreadsheet would run as a formula is quoted with a '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def csv_lines(table: Any, export: str, from_day: date, to_day: date) -> Iterator[str]:
    """The header, then one CSV line per record (money in fen)."""
    columns = COLUMNS[export]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows(table, export, from_day, to_day):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
