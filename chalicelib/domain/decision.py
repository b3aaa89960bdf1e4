"""The one decision pipeline for rentals, orders and bookings (PRODUCT.md section 2, in this order):
blacklisted -> rejected; band below the floor -> rejected; exposure over the limit -> rejected;
a risk rule fires -> review; then rentals: band at/above the scenario threshold -> deposit_free,
else deposit_required; orders and bookings: approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .credit import band_low
from .policy import Policy
from .risk import Application, MemberFacts, fired_rule


class Outcome(StrEnum):
    """A decision."""

    APPROVED = "approved"
    DEPOSIT_FREE = "deposit_free"
    DEPOSIT_REQUIRED = "deposit_required"
    REVIEW = "review"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None

    @property
    def rule(self) -> str | None:
        return self.reason.split(":", 1)[1] if self.reason and self.reason.startswith("risk_rule:") else None

    @property
    def takes_credit(self) -> bool:
        """Whether the decision adds to the member's exposure."""
        return self.outcome in (Outcome.APPROVED, Outcome.DEPOSIT_FREE, Outcome.REVIEW)


@dataclass(frozen=True)
class ScenarioPolicy:
    """The scenario facts a decision needs."""

    name: str
    threshold: int
    rules: dict[str, bool] | None = None


def decide(
    member: MemberFacts, app: Application, scenario: ScenarioPolicy | None, policy: Policy, skip_rules: bool = False
) -> Decision:
    """Decide a new application; `skip_rules` continues a reviewed one as if freshly decided."""
    if member.blacklisted:
        return Decision(Outcome.REJECTED, "blacklisted")
    if band_low(member.band) < policy.score_floor:
        return Decision(Outcome.REJECTED, "score_below_floor")
    adds = app.amount if app.exposure_amount is None else app.exposure_amount
    if member.exposure + adds > member.limit:
        return Decision(Outcome.REJECTED, "over_limit")
    if not skip_rules:
        rule = fired_rule(member, app, policy, scenario.rules if scenario else None)
        if rule:
            return Decision(Outcome.REVIEW, f"risk_rule:{rule}")
    if app.kind != "rental":
        return Decision(Outcome.APPROVED)
    threshold = scenario.threshold if scenario else policy.risk_thresholds["high"]
    if band_low(member.band) >= threshold:
        return Decision(Outcome.DEPOSIT_FREE)
    return Decision(Outcome.DEPOSIT_REQUIRED)
