"""The one transition guard every state machine (rentals, orders, bookings, trials,
charges, agreements, reviews, campaigns) shares."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from .errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


def guarded(transitions: Mapping[S, frozenset[S]], noun: str, current: str, target: str) -> S:
    """`target` as the machine's status if `transitions` allows it from `current`, else
    InvalidTransition (409 invalid_state) saying "<noun> that is <current> cannot become <target>"."""
    status = type(next(iter(transitions)))
    src, dst = status(current), status(target)
    if dst not in transitions[src]:
        raise InvalidTransition(f"{noun} that is {src} cannot become {dst}")
    return dst
