"""Request and response models of chalicelib/api/trials.py."""

from __future__ import annotations

from pydantic import Field

from ...domain.trials import MAX_TRIAL_DAYS
from ..common import Body, Fen, Id, Out


class TrialIn(Body):
    product_id: Id
    item_value: Fen
    days: int = Field(ge=1, le=MAX_TRIAL_DAYS)


class TrialOut(Out):
    id: str
    product_id: str
    item_value: int
    days: int
    rent: int
    status: str
    decision: str
    reason: str | None
    ends_at: str


class EmptyIn(Body):
    pass


class SlotsIn(Body):
    slots: int = Field(gt=0, le=100_000)


class SlotsOut(Out):
    product_id: str
    available: int
