"""A fix to the embedded moto endpoint's cost, not to its behaviour.

moto 5.2.5 (and 5.2.6) backs a table up for rollback once per item of a TransactWriteItems, each a deep copy
of the whole table with its indexes and its stream's history: a 100-item transaction copied the table 100
times (4 s a transaction on a table of a few thousand items). Here a transaction copies each table once —
the same backup, since every copy was taken before any item was applied."""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_in_transaction = threading.local()


def _copy_fields(table: Table, memo: dict[int, Any]) -> Table:
    """What copy.deepcopy does for a plain object: a new instance with every attribute deep-copied."""
    clone = Table.__new__(Table)
    memo[id(table)] = clone
    for name, value in table.__dict__.items():
        clone.__dict__[name] = copy.deepcopy(value, memo)
    return clone


def _table_deepcopy(self: Table, memo: dict[int, Any]) -> Table:
    backups = getattr(_in_transaction, "backups", None)
    if backups is None:
        return _copy_fields(self, memo)
    if id(self) not in backups:
        backups[id(self)] = _copy_fields(self, memo)
    return backups[id(self)]


def _one_backup_per_table(transact: Any) -> Any:
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        _in_transaction.backups = {}
        try:
            return transact(self, transact_items)
        finally:
            _in_transaction.backups = None

    transact_write_items.__wrapped__ = transact  # type: ignore[attr-defined]
    return transact_write_items


def apply() -> None:
    """Idempotent: the endpoint may be started more than once in a process."""
    if not hasattr(DynamoDBBackend.transact_write_items, "__wrapped__"):
        DynamoDBBackend.transact_write_items = _one_backup_per_table(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
        Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]
