"""Service bookings (cancellation fees) and 0-yuan reservations (allocation order) (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from .credit import Tier
from .errors import InvalidTransition, ValidationFailed
from .policy import Policy
from .states import guarded


class BookingStatus(StrEnum):
    """A booking's status (API.md 'Bookings and reservations')."""

    IN_REVIEW = "in_review"  # a risk rule fired; an operator decides
    REJECTED = "rejected"  # refused; nothing owed
    CONFIRMED = "confirmed"  # guaranteed by credit, nothing paid yet
    CANCELLED = "cancelled"  # cancelled before the start (a fee may be charged)
    PENDING_CHARGE = "pending_charge"  # service done and satisfied; the charge worker takes the price
    CHARGED = "charged"  # the price was paid
    DISPUTED = "disputed"  # marked not satisfied; an operator decides
    WAIVED = "waived"  # an operator upheld the dispute: nothing owed
    PAST_DUE = "past_due"  # every charge attempt failed: a default


B = BookingStatus
TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    B.IN_REVIEW: frozenset({B.CONFIRMED, B.REJECTED, B.CANCELLED}),
    B.CONFIRMED: frozenset({B.CANCELLED, B.PENDING_CHARGE, B.DISPUTED}),
    B.DISPUTED: frozenset({B.PENDING_CHARGE, B.WAIVED}),
    B.PENDING_CHARGE: frozenset({B.CHARGED, B.PAST_DUE}),
    B.REJECTED: frozenset(),
    B.CANCELLED: frozenset(),
    B.CHARGED: frozenset(),
    B.WAIVED: frozenset(),
    B.PAST_DUE: frozenset(),
}


def transition(current: str, target: str) -> BookingStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a booking", current, target)


FREE_CANCEL_TIERS = frozenset({Tier.SILVER, Tier.GOLD})


def require_future_start(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationFailed("starts_at must be in the future", "starts_at")


def cancellation_fee(tier: str, price: int, starts_at: datetime, now: datetime, policy: Policy) -> int:
    """Silver/gold: free before the start. Others: free until 24 h before, then 20% capped at 50 yuan."""
    if now >= starts_at:
        raise InvalidTransition("the service has started; it can no longer be cancelled")
    if tier in FREE_CANCEL_TIERS:
        return 0
    if starts_at - now >= timedelta(hours=policy.booking_free_cancel_hours):
        return 0
    return min(price * policy.booking_fee_pct // 100, policy.booking_fee_cap)


class ReservationStatus(StrEnum):
    """A 0-yuan reservation's status."""

    WAITING = "waiting"  # in the queue for stock
    OFFERED = "offered"  # a place is held for 3 days
    CONVERTED = "converted"  # the holder took the place
    EXPIRED = "expired"  # the offer lapsed; the place passed on


RESERVING_TIERS = frozenset({Tier.SILVER, Tier.GOLD})
TIER_RANK = {Tier.GOLD: "0", Tier.SILVER: "1"}


def queue_sort_key(tier: str, created_at: str, reservation_id: str) -> str:
    """Allocation order as a sort key: tier (gold first), then time."""
    return f"{TIER_RANK[Tier(tier)]}#{created_at}#{reservation_id}"


def offer_expires_at(now: datetime, policy: Policy) -> datetime:
    return now + timedelta(days=policy.reservation_hold_days)
