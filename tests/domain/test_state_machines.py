"""Every state machine where money moves: each allowed move passes the guard, every other one is refused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.domain import (
    agreements,
    bookings,
    campaigns,
    charges,
    group_buys,
    orders,
    referrals,
    reminders,
    rentals,
    reviews,
    trials,
)
from chalicelib.domain.errors import InvalidTransition

MACHINES = {
    "rentals": rentals,
    "orders": orders,
    "bookings": bookings,
    "trials": trials,
    "charges": charges,
    "agreements": agreements,
    "reviews": reviews,
    "campaigns": campaigns,
    "teams": group_buys,
    "referrals": referrals,
    "reminders": reminders,
    "seats": SimpleNamespace(
        __name__="group_buys.seats", TRANSITIONS=group_buys.SEAT_TRANSITIONS, transition=group_buys.seat_transition
    ),
}


def _moves(module, allowed: bool) -> list[tuple]:
    table = module.TRANSITIONS
    states = list(type(next(iter(table))))
    return [(module, src, dst) for src in states for dst in states if (dst in table[src]) is allowed]


ALLOWED = [m for mod in MACHINES.values() for m in _moves(mod, True)]
REFUSED = [m for mod in MACHINES.values() for m in _moves(mod, False)]


def _id(move: tuple) -> str:
    return f"{move[0].__name__.rsplit('.', 1)[-1]}:{move[1]}->{move[2]}"


@pytest.mark.parametrize("name", MACHINES)
def test_every_state_has_a_row_in_its_table(name):
    module = MACHINES[name]
    assert set(module.TRANSITIONS) == set(type(next(iter(module.TRANSITIONS))))


@pytest.mark.parametrize("move", ALLOWED, ids=[_id(m) for m in ALLOWED])
def test_an_allowed_move_returns_the_target(move):
    module, src, dst = move
    assert module.transition(str(src), str(dst)) == dst


@pytest.mark.parametrize("move", REFUSED, ids=[_id(m) for m in REFUSED])
def test_every_other_move_is_refused_naming_both_states(move):
    module, src, dst = move
    with pytest.raises(InvalidTransition, match=f"that is {src} cannot become {dst}"):
        module.transition(str(src), str(dst))
