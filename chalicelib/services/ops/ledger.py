"""Our money ledger by day, for the daily bill reconciliation (domain/reconciliation.py).

Every money movement with a provider (an order or booking charge, a refund, a capture from a freeze, a
deposit collected or refunded) stages one small item in the same transaction that records it:
`LEDGER#<provider>#<request number>` carrying a sparse entry on the `list` index under
`ledger#<provider>#<YYYY-MM-DD>#<shard>` (the day of the record, UTC). A day's ledger is one paged Query a shard; never
a Scan. The item is keyed by the request number, so a rewrite carries the same facts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator

from ...clock import iso
from ...domain.reconciliation import BillLine
from ...store.day_index import day_pk, read_day
from ...store.uow import UnitOfWork


def index_prefix(provider: str) -> str:
    """The provider's day listings: "ledger#<provider>#<day>#<shard>" (store/day_index.py)."""
    return f"ledger#{provider}"


def stage_movement(uow: UnitOfWork, provider: str, out_request_no: str, kind: str, amount: int) -> None:
    """kind: charge | capture | deposit | refund; amount in fen (positive). Nothing for a zero amount."""
    if amount <= 0:
        return
    at = iso(uow.now)
    uow.put(
        {
            "pk": f"LEDGER#{provider}#{out_request_no}",
            "sk": "LEDGER",
            "type": "ledger",
            "provider": provider,
            "out_request_no": out_request_no,
            "kind": kind,
            "amount": int(amount),
            "at": at,
            "list_pk": day_pk(index_prefix(provider), at[:10], out_request_no),
            "list_sk": f"{at}#{out_request_no}",
        }
    )


def recorded(table: Any, provider: str, out_request_nos: list[str]) -> set[str]:
    """Which of these request numbers have their movement in the ledger already (one BatchGetItem per 100;
    none for an empty list)."""
    keys = [(f"LEDGER#{provider}#{no}", "LEDGER") for no in out_request_nos]
    found: set[str] = set()
    for start in range(0, len(keys), 100):
        found |= {item["out_request_no"] for item in table.batch_get(keys[start : start + 100]).values()}
    return found


def movements(table: Any, provider: str, day: str) -> Iterator[BillLine]:
    """Our movements with `provider` recorded on `day` (YYYY-MM-DD), oldest first."""
    for item in read_day(table, index_prefix(provider), day):
        yield BillLine(item["out_request_no"], item["kind"], int(item["amount"]), item["at"])


def between(table: Any, provider: str, start: datetime, end: datetime) -> Iterator[BillLine]:
    """Our movements with `provider` recorded in [start, end) (UTC): the day partitions it overlaps, filtered
    by time (a provider's bill day in Beijing time spans two UTC days)."""
    low, high = iso(start), iso(end)
    day = start.date()
    while day <= (end - timedelta(microseconds=1)).date():
        for line in movements(table, provider, day.isoformat()):
            if low <= line.at < high:
                yield line
        day += timedelta(days=1)
