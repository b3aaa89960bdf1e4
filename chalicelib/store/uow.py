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
from typing import Any, Callable, NamedTuple

from ..clock import iso
from ..domain import events as catalogue
from ..domain.errors import Conflict, DomainError
from ..domain.exports import EXPORT_OF_EVENT, index_prefix
from .day_index import day_pk
from .dynamo import ConditionFailed, Table, TransactionConflict, key, to_dynamo, update_expression, with_expression
from .schema import shard_of


class Retry(Exception):
    """A guarded write lost a race that a fresh read-and-decide may win."""


RETRY = Retry


class NoSender(RuntimeError):
    """A message was staged on a unit of work that has no way to send it (no `send_message`)."""


class Touch(NamedTuple):
    """One staged write: the operation and the key it writes."""

    op: str  # Put | Update | Delete
    pk: str
    sk: str


def set_or_remove(fields: dict, remove: list[str] | None = None) -> dict[str, Any]:
    """`set=` and `remove=` for fields where None says "no longer there" (a timer switched off, a reference the
    provider did not give): those attributes are removed, the others set, plus any named in `remove`."""
    gone = [name for name, value in fields.items() if value is None]
    return {
        "set": {k: v for k, v in fields.items() if v is not None},
        "remove": [*gone, *(n for n in remove or [] if n not in fields)],
    }


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
    _messages: list[tuple[str, dict]] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._ops)

    # -- writes -----------------------------------------------------------------
    def put(
        self,
        item: dict,
        *,
        condition: str | None = None,
        names: dict | None = None,
        values: dict | None = None,
        on_fail: Any = None,
    ) -> None:
        body: dict[str, Any] = {"TableName": self.table.name, "Item": to_dynamo(item)}
        self._ops.append(_Op({"Put": with_expression(body, condition, names, values)}, on_fail))

    def update(
        self,
        pk: str,
        sk: str,
        *,
        set: dict | None = None,
        add: dict | None = None,
        remove: list[str] | None = None,
        set_raw: list[str] | None = None,
        condition: str | None = None,
        names: dict | None = None,
        values: dict | None = None,
        on_fail: Any = None,
    ) -> None:
        """SET `set`, ADD `add`, REMOVE the attributes named in `remove` (a None in `set` is an error:
        ValueError, raised here, before anything is staged)."""
        names, values = dict(names or {}), dict(values or {})
        expr = update_expression(names, values, set=set, add=add, remove=remove, set_raw=set_raw)
        body: dict[str, Any] = {"TableName": self.table.name, "Key": to_dynamo(key(pk, sk)), "UpdateExpression": expr}
        self._ops.append(_Op({"Update": with_expression(body, condition, names, values)}, on_fail))

    def delete(
        self,
        pk: str,
        sk: str,
        *,
        condition: str | None = None,
        names: dict | None = None,
        values: dict | None = None,
        on_fail: Any = None,
    ) -> None:
        body: dict[str, Any] = {"TableName": self.table.name, "Key": to_dynamo(key(pk, sk))}
        self._ops.append(_Op({"Delete": with_expression(body, condition, names, values)}, on_fail))

    # -- audit, events, messages ------------------------------------------------------
    def audit(
        self,
        entity_id: str,
        action: str,
        *,
        before: dict | None = None,
        after: dict | None = None,
        event: str | None = None,
        data: dict | None = None,
    ) -> None:
        """Append an audit entry; it is also the outbox row of domain event `event` (a catalogued type:
        UnknownEvent otherwise, so an undocumented event fails the first test that drives it)."""
        if event:
            catalogue.require(event)
        at = iso(self.now)
        entry = {
            "pk": f"AUDIT#{entity_id}",
            "sk": f"{at}#{secrets.token_hex(4)}",
            "type": "audit",
            "entity_id": entity_id,
            "action": action,
            "actor": self.actor,
            "at": at,
            "before": before or {},
            "after": after or {},
            "data": data or {},
        }
        if event:
            entry.update(event_type=event, due_pk=f"outbox#{shard_of(entity_id)}", due_at=at)
            if event in EXPORT_OF_EVENT:  # the CSV exports find it by day (domain/exports.py)
                entry.update(
                    list_pk=day_pk(index_prefix(EXPORT_OF_EVENT[event]), at[:10], entity_id), list_sk=entry["sk"]
                )
            self.events.append(entry)
        self.put(entry)

    def send(self, queue: str, body: dict) -> None:
        """Send a queue message once the transaction has committed. A unit of work made without a sender
        refuses it here (NoSender), rather than dropping the message in silence after the commit."""
        sender = self.send_message
        if sender is None or not queue:
            raise NoSender(f"a message for queue {queue!r} was staged on a unit of work that cannot send")
        self._messages.append((queue, body))
        self._after.append(lambda: sender(queue, body))

    # -- what it touches ----------------------------------------------------------------
    def touches(self) -> list[Touch]:
        """The writes staged so far, in order: (op, pk, sk) of each Put/Update/Delete (audit rows included)."""
        out = []
        for op in self._ops:
            ((kind, body),) = op.body.items()
            item = body.get("Item") or body["Key"]
            out.append(Touch(kind, item["pk"]["S"], item["sk"]["S"]))
        return out

    def messages(self) -> list[tuple[str, dict]]:
        """The (queue, body) messages staged, sent in this order once the transaction commits."""
        return list(self._messages)

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
