"""The unit of work: one transaction, precise failures, nothing half-written."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import InvalidState
from chalicelib.domain.events import UnknownEvent
from chalicelib.store.dynamo import update_expression
from chalicelib.store.uow import NoSender, Retry, Touch, UnitOfWork, set_or_remove


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
    uow.update(
        "T#3",
        "T",
        set={"status": "open"},
        condition="#s = :e",
        names={"#s": "status"},
        values={":e": "active"},
        on_fail=InvalidState("not active"),
    )
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


def test_a_none_in_set_is_refused_and_remove_is_said_explicitly(aws):
    aws.table.put({"pk": "T#20", "sk": "T", "note": "old", "due_at": "x"})
    uow = _uow(aws)
    with pytest.raises(ValueError, match="'note'.*remove="):
        uow.update("T#20", "T", set={"note": None})
    assert len(uow) == 0  # nothing staged
    uow.update("T#20", "T", set={"n": 1}, remove=["note", "due_at"])
    uow.commit()
    assert aws.table.get("T#20", "T") == {"pk": "T#20", "sk": "T", "n": 1}


def test_set_or_remove_names_what_it_removes():
    out = set_or_remove({"a": 1, "b": None}, remove=["c", "a"])
    assert out == {"set": {"a": 1}, "remove": ["b", "c"]}  # an attribute set is never also removed


def test_one_attribute_both_set_and_removed_is_refused(aws):
    with pytest.raises(ValueError, match="both set and remove"):
        _uow(aws).update("T#21", "T", set={"a": 1}, remove=["a"])


def test_a_message_staged_without_a_sender_is_refused_at_once(aws):
    uow = _uow(aws)  # made without send_message
    with pytest.raises(NoSender, match="rental-timers"):
        uow.send("rental-timers", {"x": 1})
    assert uow.messages() == []


def test_touches_lists_every_staged_write_and_messages_every_message(aws):
    uow = UnitOfWork(aws.table, aws.clock.now(), "test", lambda q, b: None)
    uow.put({"pk": "T#22", "sk": "A"})
    uow.update("T#23", "B", add={"n": 1})
    uow.delete("T#24", "C")
    uow.send("order-charges", {"pk": "T#23"})
    assert uow.touches() == [Touch("Put", "T#22", "A"), Touch("Update", "T#23", "B"), Touch("Delete", "T#24", "C")]
    assert uow.messages() == [("order-charges", {"pk": "T#23"})]
    uow.audit("thing#1", "noted")
    assert uow.touches()[-1].op == "Put" and uow.touches()[-1].pk == "AUDIT#thing#1"


def test_table_and_unit_of_work_build_the_same_update(aws):
    aws.table.put({"pk": "T#25", "sk": "T", "gone": 1, "n": 1})
    new = aws.table.update("T#25", "T", set={"s": "x"}, add={"n": 2}, remove=["gone"], condition="attribute_exists(pk)")
    assert new == {"pk": "T#25", "sk": "T", "s": "x", "n": 3}
    names: dict = {}
    values: dict = {}
    expr = update_expression(names, values, set={"s": "x"}, add={"n": 2}, remove=["gone"])
    assert expr == "SET #s0 = :s0 ADD #a0 :a0 REMOVE #r0"
    assert names == {"#s0": "s", "#a0": "n", "#r0": "gone"} and values == {":s0": "x", ":a0": 2}
    with pytest.raises(ValueError, match="either an update expression or set"):
        aws.table.update("T#25", "T", "SET a = :a", values={":a": 1}, set={"b": 2})
