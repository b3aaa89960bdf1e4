"""The one status guard: a write lands only while the item is in the state the caller read."""

from __future__ import annotations

import pytest

from chalicelib.domain.charges import ChargeState
from chalicelib.domain.errors import InvalidState
from chalicelib.store.guards import ABSENT, expect
from chalicelib.store.uow import Retry, UnitOfWork


def _uow(aws) -> UnitOfWork:
    return UnitOfWork(aws.table, aws.clock.now(), "test")


def test_the_write_lands_while_the_status_is_the_one_read(aws):
    aws.table.put({"pk": "G#1", "sk": "G", "status": "active"})
    uow = _uow(aws)
    uow.update("G#1", "G", set={"status": "returned"}, **expect({"status": "active"}, on_fail=Retry))
    uow.commit()
    assert aws.table.get("G#1", "G")["status"] == "returned"


def test_a_moved_item_raises_the_guards_error_and_is_left_alone(aws):
    aws.table.put({"pk": "G#2", "sk": "G", "status": "closed"})
    uow = _uow(aws)
    uow.update("G#2", "G", set={"status": "returned"}, **expect({"status": "active"}, on_fail=InvalidState("moved")))
    with pytest.raises(InvalidState, match="moved"):
        uow.commit()
    assert aws.table.get("G#2", "G")["status"] == "closed"


@pytest.mark.parametrize(
    "stored,lands", [({}, True), ({"charge_state": "pending"}, True), ({"charge_state": "charging"}, False)]
)
def test_absent_among_the_expected_values_also_accepts_a_missing_attribute(aws, stored, lands):
    aws.table.put({"pk": "G#3", "sk": "G", "status": "pending_charge", **stored})
    uow = _uow(aws)
    uow.update(
        "G#3",
        "G",
        set={"status": "cancelled"},
        **expect({"status": "pending_charge", "charge_state": (ABSENT, ChargeState.PENDING)}, on_fail=Retry),
    )
    if lands:
        uow.commit()
        assert aws.table.get("G#3", "G")["status"] == "cancelled"
    else:
        with pytest.raises(Retry):
            uow.commit()


def test_several_attributes_and_a_further_condition_all_hold(aws):
    aws.table.put({"pk": "G#4", "sk": "G", "charge_state": "charging", "charge_attempts": 2, "settled": 1})
    for attempts, lands in ((1, False), (2, True)):
        uow = _uow(aws)
        uow.update(
            "G#4",
            "G",
            set={"charge_state": "done"},
            **expect(
                {"charge_state": "charging", "charge_attempts": attempts},
                also="attribute_not_exists(paused)",
                on_fail=Retry,
            ),
        )
        if lands:
            uow.commit()
        else:
            with pytest.raises(Retry):
                uow.commit()
    assert aws.table.get("G#4", "G")["charge_state"] == "done"


def test_the_guard_placeholders_never_collide_with_the_updates_own():
    guard = expect({"status": "active"}, values={":n": 1}, also="n = :n")
    assert guard == {
        "condition": "#x_status = :x_status0 AND n = :n",
        "names": {"#x_status": "status"},
        "values": {":x_status0": "active", ":n": 1},
    }


def test_a_guard_must_expect_something():
    with pytest.raises(ValueError):
        expect({})


def test_a_further_condition_may_name_a_reserved_word_shared_with_the_updates_own_expression(aws):
    """`size` is a DynamoDB reserved word: the guard's `names` serve its `also` and the update's set_raw alike."""
    aws.table.put({"pk": "G#5", "sk": "G", "status": "open", "seats": 1, "size": 2, "seat_orders": {}})
    for lands in (True, False):  # the second seat would go beyond the size
        uow = _uow(aws)
        uow.update(
            "G#5",
            "G",
            set_raw=["seat_orders.#mid = :seat"],
            add={"seats": 1},
            **expect(
                {"status": "open"},
                also="seats < #size",
                values={":seat": "o1"},
                names={"#mid": "m1", "#size": "size"},
                on_fail=Retry,
            ),
        )
        if lands:
            uow.commit()
        else:
            with pytest.raises(Retry):
                uow.commit()
    item = aws.table.get("G#5", "G")
    assert (item["seats"], item["seat_orders"]) == (2, {"m1": "o1"})
