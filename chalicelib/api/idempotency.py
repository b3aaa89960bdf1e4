"""Idempotency-Key: the first answer (status + body) is stored in the SAME transaction as the
business writes, so a duplicate, even a concurrent one, never has a second effect.

Flow: read the record (1 GetItem) -> replay, 422, or run the handler -> commit its writes plus
`Put IDEM#caller#key` with `attribute_not_exists` -> if that Put lost the race, replay the winner.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import DomainError, IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from ..store.dynamo import Table
from ..store.schema import TTL_ATTRIBUTE
from ..store.uow import UnitOfWork

WINDOW_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


class ReplayRace(DomainError):
    """A concurrent request with the same key committed first."""

    code = "idempotency_in_progress"
    status = 409


@dataclass(frozen=True)
class Slot:
    """One caller's key for one request."""

    pk: str
    request_hash: str
    now_epoch: int

    @property
    def key(self) -> tuple[str, str]:
        return self.pk, "IDEM"


@dataclass(frozen=True)
class Stored:
    status: int
    body: str


def make_slot(caller: str, raw_key: str | None, method: str, path: str, body: bytes, now: datetime) -> Slot | None:
    if raw_key is None:
        return None
    raw_key = raw_key.strip()
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters", "Idempotency-Key")
    digest = hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()
    key_hash = hashlib.sha256(raw_key.encode()).hexdigest()[:40]
    return Slot(f"IDEM#{caller}#{key_hash}", digest, int(now.timestamp()))


def lookup(table: Table, slot: Slot) -> Stored | None:
    """The stored first answer, or None when this key is new (or expired)."""
    item = table.get(*slot.key)
    return _judge(item, slot)


def _judge(item: dict | None, slot: Slot) -> Stored | None:
    if not item or item.get("expires_epoch", 0) < slot.now_epoch:
        return None
    if item["request_hash"] != slot.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different request", "Idempotency-Key")
    return Stored(int(item["status"]), item["body"])


def _record(slot: Slot, status: int, body: str) -> dict:
    expires = slot.now_epoch + WINDOW_SECONDS
    return {
        "pk": slot.pk,
        "sk": "IDEM",
        "request_hash": slot.request_hash,
        "status": status,
        "body": body,
        "expires_epoch": expires,
        TTL_ATTRIBUTE: expires,
    }


_NEW_OR_EXPIRED = "attribute_not_exists(pk) OR expires_epoch < :now"


def stage(uow: UnitOfWork, slot: Slot, status: int, body: str) -> None:
    """Add the record to the business transaction; losing the race raises ReplayRace."""
    uow.put(
        _record(slot, status, body),
        condition=_NEW_OR_EXPIRED,
        values={":now": slot.now_epoch},
        on_fail=ReplayRace("a concurrent request with this Idempotency-Key won"),
    )


def save_alone(table: Table, slot: Slot, status: int, body: str) -> Stored | None:
    """Store an answer that had no business writes (errors, reads); returns the winner's on a race."""
    from ..store.dynamo import ConditionFailed

    try:
        table.put(_record(slot, status, body), condition=_NEW_OR_EXPIRED, values={":now": slot.now_epoch})
        return None
    except ConditionFailed:
        return replay_winner(table, slot)


def replay_winner(table: Table, slot: Slot) -> Stored:
    stored = lookup(table, slot)
    if stored is None:
        raise IdempotencyInProgress("the first request with this Idempotency-Key is still running")
    return stored


def dumps(body: object) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
