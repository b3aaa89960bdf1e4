"""An operator campaign: a coupon for every member of a tier (pure)."""

from __future__ import annotations

from enum import StrEnum

from .states import guarded


class CampaignStatus(StrEnum):
    """Where a campaign stands."""

    ISSUING = "issuing"
    """Created: the fan-out to the tier's members is under way (a backstop timer guards it)."""
    ISSUED = "issued"
    """Every member of the tier was handed to the coupon worker."""


C = CampaignStatus
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    C.ISSUING: frozenset({C.ISSUED}),
    C.ISSUED: frozenset(),
}


def transition(current: str, target: str) -> CampaignStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a campaign", current, target)
