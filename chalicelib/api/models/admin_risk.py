"""Admin risk control: blacklist, review queue, scenarios."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..common import Body, Out


class BlacklistIn(Body):
    reason: str = Field(min_length=1, max_length=500)


class BlacklistEntry(Out):
    member_id: str
    reason: str | None
    by: str | None
    at: str | None


class BlacklistOut(Out):
    items: list[BlacklistEntry]


class ReviewsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: Literal["pending"] = "pending"


class ReviewDecisionIn(Body):
    note: str | None = Field(default=None, min_length=1, max_length=500)


class ReviewOut(Out):
    id: str
    kind: str
    ref_id: str
    member_id: str
    rule: str
    status: Literal["pending", "approved", "rejected"]
    created_at: str
    evidence: dict = {}


class ReviewsOut(Out):
    items: list[ReviewOut]


class ScenarioIn(Body):
    risk_level: Literal["low", "medium", "high"] | None = None
    threshold: int | None = Field(default=None, ge=300, le=950)
    trial_days: int | None = Field(default=None, ge=1, le=365)  # the policy's 7-30 is checked by the service
    auto_adjust: bool | None = None
    rules: dict[str, bool] | None = None


class ScenarioOut(Out):
    name: str
    risk_level: str
    base_threshold: int
    threshold: int
    trial_days: int
    auto_adjust: bool
    rules: dict[str, bool]
    adjusted_on: str | None = None
    updated_at: str | None = None


class ScenariosOut(Out):
    items: list[ScenarioOut]
