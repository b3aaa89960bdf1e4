"""The unit of work: one transaction, precise failures, nothing half-written."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import InvalidState
from chalicelib.domain.events import UnknownEvent
from chalicelib.store.uow import Retry, UnitOfWork


def _uow(aws) -> UnitOfWork:
    return UnitOfWork(aws.table, aws.clock.now(), "test")


def test_all_writes_land_together(aws):
    uow = _uow(aws)
    uow.put({"pk": "T#1", "sk": "T", "n": 1})
    uow.update("T#2", "T", set={"n": 2})
    uow.audit("product#1", "stock_added", data={"quantity": 1}, event="product.stock_added")
    uow.commit()
    assert aws.table.get("T#1", "T")["n"] == 1 and aws.table.get("T#2", "T")["n"] == 2
    audit = list(aws.table.query("pk = :p", {":p": "AUDIT#product#1"}))
    assert audit[0]["event_type"] == "product.stock_added" and audit[0]["actor"] == "test"


def test_an_event_type_missing_from_the_catalogue_is_refused_before_anything_is_staged(aws):
    uow = _uow(aws)
    with pytest.raises(UnknownEvent, match="rental.activated"):
        uow.audit("rental#1", "active", after={"status": "active"}, event="rental.activated")
    assert len(uow) == 0 and uow.events == []
    uow.audit("rental#1", "note", data={"n": 1})  # an audit entry that is not an event needs no entry
    assert len(uow) == 1 and uow.events == []


def test_a_refused_guard_raises_its_own_error_and_writes_nothing(aws):
    aws.table.put({"pk": "T#3", "sk": "T", "status": "closed"})
    uow = _uow(aws)
    uow.put({"pk": "T#4", "sk": "T", "n": 4})
    uow.update("T#3", "T", set={"status": "open"}, condition="#s = :e", names={"#s": "status"},
               values={":e": "active"}, on_fail=InvalidState("not active"))
    with pytest.raises(InvalidState, match="not active"):
        uow.commit()
    assert aws.table.get("T#4", "T") is None  # nothing half-written
    assert aws.table.get("T#3", "T")["status"] == "closed"


def test_a_lost_race_asks_for_a_retry(aws):
    aws.table.put({"pk": "T#5", "sk": "T", "exposure": 90})
    uow = _uow(aws)
    uow.update("T#5", "T", add={"exposure": 20}, condition="exposure <= :m", values={":m": 80}, on_fail=Retry)
    with pytest.raises(Retry):
        uow.commit()


def test_messages_are_sent_only_after_the_commit(aws):
    sent = []
    uow = UnitOfWork(aws.table, aws.clock.now(), "test", lambda q, b: sent.append((q, b)))
    aws.table.put({"pk": "T#6", "sk": "T"})
    uow.put({"pk": "T#6", "sk": "T"}, condition="attribute_not_exists(pk)", on_fail=InvalidState("exists"))
    uow.send("outbox", {"x": 1})
    with pytest.raises(InvalidState):
        uow.commit()
    assert sent == []
