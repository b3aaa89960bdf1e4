"""Unit of work: every write of one state change in ONE DynamoDB transaction.

Each write names the error to raise if its condition is what failed, so a refused
transaction becomes a precise domain error (or RETRY: re-read and decide again).
Audit entries ride in the same transaction and double as the event outbox.
Queue messages are sent after the commit; a message lost to a crash in between is
caught by the timer sweeps (the item still carries its due index entry).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ..clock import iso
from ..domain import events as catalogue
from ..domain.errors import Conflict, DomainError
from ..domain.exports import EXPORT_OF_EVENT, index_pk
from .dynamo import ConditionFailed, Table, TransactionConflict, key, to_dynamo
from .schema import shard_of


class Retry(Exception):
    """A guarded write lost a race that a fresh read-and-decide may win."""


RETRY = Retry


@dataclass
class _Op:
    body: dict
    on_fail: DomainError | type[Retry] | None


@dataclass
class UnitOfWork:
    """Collects the writes of one state change; `commit()` applies them atomically."""

    table: Table
    now: datetime
    actor: str = "system"
    send_message: Callable[[str, dict], None] | None = None
    _ops: list[_Op] = field(default_factory=list)
    _after: list[Callable[[], None]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._ops)

    # -- writes -----------------------------------------------------------------
    def put(self, item: dict, *, condition: str | None = None, names: dict | None = None,
            values: dict | None = None, on_fail: Any = None) -> None:
        body: dict[str, Any] = {"TableName": self.table.name, "Item": to_dynamo(item)}
        self._ops.append(_Op({"Put": _with_expr(body, condition, names, values)}, on_fail))

    def update(self, pk: str, sk: str, *, set: dict | None = None, add: dict | None = None,
               remove: list[str] | None = None, set_raw: list[str] | None = None,
               condition: str | None = None, names: dict | None = None, values: dict | None = None,
               on_fail: Any = None) -> None:
        names, values = dict(names or {}), dict(values or {})
        sets = list(set_raw or [])
        for i, (attr, val) in enumerate((set or {}).items()):
            if val is None:
                remove = [*(remove or []), attr]
                continue
            names[f"#s{i}"], values[f":s{i}"] = attr, val
            sets.append(f"#s{i} = :s{i}")
        adds = []
        for i, (attr, val) in enumerate((add or {}).items()):
            names[f"#a{i}"], values[f":a{i}"] = attr, val
            adds.append(f"#a{i} :a{i}")
        removes = []
        for i, attr in enumerate(remove or []):
            names[f"#r{i}"] = attr
            removes.append(f"#r{i}")
        expr = " ".join(part for part in (
            "SET " + ", ".join(sets) if sets else "",
            "ADD " + ", ".join(adds) if adds else "",
            "REMOVE " + ", ".join(removes) if removes else "",
        ) if part)
        body: dict[str, Any] = {"TableName": self.table.name, "Key": to_dynamo(key(pk, sk)), "UpdateExpression": expr}
        self._ops.append(_Op({"Update": _with_expr(body, condition, names, values)}, on_fail))

    def delete(self, pk: str, sk: str, *, condition: str | None = None, names: dict | None = None,
               values: dict | None = None, on_fail: Any = None) -> None:
        body: dict[str, Any] = {"TableName": self.table.name, "Key": to_dynamo(key(pk, sk))}
        self._ops.append(_Op({"Delete": _with_expr(body, condition, names, values)}, on_fail))

    # -- audit, events, messages ------------------------------------------------------
    def audit(self, entity_id: str, action: str, *, before: dict | None = None, after: dict | None = None,
              event: str | None = None, data: dict | None = None) -> None:
        """Append an audit entry; it is also the outbox row of domain event `event` (a catalogued type:
        UnknownEvent otherwise, so an undocumented event fails the first test that drives it)."""
        if event:
            catalogue.require(event)
        at = iso(self.now)
        entry = {
            "pk": f"AUDIT#{entity_id}", "sk": f"{at}#{secrets.token_hex(4)}", "type": "audit",
            "entity_id": entity_id, "action": action, "actor": self.actor, "at": at,
            "before": before or {}, "after": after or {}, "data": data or {},
        }
        if event:
            entry.update(event_type=event, due_pk=f"outbox#{shard_of(entity_id)}", due_at=at)
            if event in EXPORT_OF_EVENT:  # the CSV exports find it by day (domain/exports.py)
                entry.update(list_pk=index_pk(EXPORT_OF_EVENT[event], at), list_sk=entry["sk"])
            self.events.append(entry)
        self.put(entry)

    def send(self, queue: str, body: dict) -> None:
        """Send a queue message once the transaction has committed."""
        self._after.append(lambda: self.send_message(queue, body) if self.send_message else None)

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    # -- commit -------------------------------------------------------------------
    def commit(self) -> None:
        if self._ops:
            try:
                self.table.transact([op.body for op in self._ops])
            except TransactionConflict as exc:
                raise Retry("transaction conflict") from exc
            except ConditionFailed as exc:
                raise self._failure(exc) from exc
        for fn in self._after:
            fn()

    def _failure(self, exc: ConditionFailed) -> Exception:
        for op, reason in zip(self._ops, exc.reasons, strict=False):
            if reason == "ConditionalCheckFailed":
                if op.on_fail is Retry:
                    return Retry("guard lost a race")
                if isinstance(op.on_fail, Exception):
                    return op.on_fail
                return Conflict("a concurrent change won; try again")
        return Retry(f"transaction cancelled: {exc.reasons}")


def _with_expr(body: dict, condition: str | None, names: dict | None, values: dict | None) -> dict:
    if condition:
        body["ConditionExpression"] = condition
    if names:
        body["ExpressionAttributeNames"] = names
    if values:
        body["ExpressionAttributeValues"] = to_dynamo(values)
    return body
