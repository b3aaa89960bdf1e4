"""Rentals: the state machine and the settlement math (PRODUCT.md section 2). Pure: values in, values out.

Money ledger of a rental (fen): held = rent_charged + deducted_amount + released_amount, where `held`
is the frozen amount (deposit-free) or the deposit (deposit-required).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import ValidationFailed
from .states import guarded

DAY = timedelta(days=1)


class RentalStatus(StrEnum):
    """Where a rental stands."""

    PENDING_FREEZE = "pending_freeze"
    """Deposit-free: the provider has been asked to freeze the item value; its answer is awaited."""
    AWAITING_DEPOSIT = "awaiting_deposit"
    """Deposit-required: waiting for the provider to report the deposit paid."""
    REVIEW = "review"
    """A risk rule fired: an operator approves (decided afresh) or rejects."""
    ACTIVE = "active"
    """The item is out; the freeze (or deposit) secures it."""
    RETURNED = "returned"
    """The item is back; the settlement worker takes the rent and releases the rest."""
    INSPECTING = "inspecting"
    """Back, held for the scenario's inspection window so operators can record damage; then settled."""
    CLOSING = "closing"
    """Bought out: price and rent fixed; the provider is taking them from the freeze (closed when it answers)."""
    CLOSED = "closed"
    """Settled: rent taken, deductions recorded, the rest released (outcome returned or defaulted)."""
    REJECTED = "rejected"
    """Refused by the decision, by an operator, or by the provider (freeze refused)."""


S = RentalStatus
TRANSITIONS: dict[RentalStatus, frozenset[RentalStatus]] = {
    S.REVIEW: frozenset({S.PENDING_FREEZE, S.AWAITING_DEPOSIT, S.REJECTED}),
    S.PENDING_FREEZE: frozenset({S.ACTIVE, S.REJECTED}),
    S.AWAITING_DEPOSIT: frozenset({S.ACTIVE, S.REJECTED}),
    S.ACTIVE: frozenset({S.RETURNED, S.INSPECTING, S.CLOSED, S.CLOSING}),
    S.INSPECTING: frozenset({S.CLOSED}),
    S.CLOSING: frozenset({S.CLOSED}),
    S.RETURNED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.REJECTED: frozenset(),
}


class Outcome(StrEnum):
    """How a closed rental ended."""

    RETURNED = "returned"
    DEFAULTED = "defaulted"
    BOUGHT_OUT = "bought_out"  # the member bought the item: price and rent taken from the freeze
    SETTLED = "settled"  # the freeze was about to lapse and could not be renewed: settled from it


def transition(current: str, target: RentalStatus) -> RentalStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a rental", current, target)


def rent(daily_rent: int, days: int, discount: int = 0) -> int:
    """Rent owed for the agreed term, less a coupon (never below zero)."""
    if daily_rent < 0 or days <= 0 or discount < 0:
        raise ValidationFailed("rent needs a non-negative daily rent and at least one day", "days")
    return max(daily_rent * days - discount, 0)


def days_used(start: datetime, returned_at: datetime, agreed_days: int) -> int:
    """Days charged for a return: the whole days begun since the start (at least 1), never more than agreed
    (a late return pays the agreed rent plus the overdue fee instead)."""
    begun = math.ceil((returned_at - start) / DAY) if returned_at > start else 0
    return min(max(begun, 1), agreed_days)


RENEW_MIN_DAYS, RENEW_MAX_DAYS = 1, 30


def renewal_fits(held: int, deducted_so_far: int, new_rent: int) -> bool:
    """A renewal's rent (with what was already deducted) must still fit in what secures the rental."""
    return new_rent + deducted_so_far <= held


def buyout_price(item_value: int, rent_accrued: int, held: int, deducted_so_far: int) -> int:
    """`item_value - rent accrued`, never below 0 and never beyond what is still held after the rent."""
    return max(0, min(item_value - rent_accrued, held - deducted_so_far - rent_accrued))


def itemise(
    gross_rent: int, discount: int, rent_charged: int, extra: list[tuple[str, int]]
) -> tuple[list[dict], list[dict]]:
    """The named lines and discounts of what a closed rental took: sum(lines) - sum(discounts) =
    rent_charged + sum(extra). The coupon shows as a discount on the gross rent it reduced."""
    coupon = min(max(discount, 0), gross_rent) if rent_charged else 0
    lines = [{"name": "rent", "amount": rent_charged + coupon}] if rent_charged else []
    lines += [{"name": name, "amount": amount} for name, amount in extra if amount]
    discounts = [{"name": "coupon", "amount": coupon}] if coupon else []
    return lines, discounts


def inspection_until(
    returned_at: datetime, window: timedelta, freeze_expires_at: datetime | None, margin: timedelta
) -> datetime | None:
    """End of the inspection hold after a return (None: no hold). Never outlives the provider's freeze:
    it ends `margin` before the freeze lapses, so the settlement still finds the freeze alive."""
    if window <= timedelta(0):
        return None
    until = returned_at + window
    if freeze_expires_at is not None:
        until = min(until, freeze_expires_at - margin)
    return until if until > returned_at else None


DAMAGE_LINES = frozenset({"damage", "lost_accessory", "cleaning"})


def due_at(start: datetime, days: int) -> datetime:
    return start + days * DAY


def overdue_at(due: datetime, grace_days: int) -> datetime:
    """When an item not back becomes a default."""
    return due + grace_days * DAY


def days_late(due: datetime, at: datetime) -> int:
    """Whole days late, rounded up (0 when not late)."""
    if at <= due:
        return 0
    return math.ceil((at - due) / DAY)


@dataclass(frozen=True)
class Settlement:
    """What to take and what to give back when a rental closes."""

    rent_charged: int
    fee_deducted: int  # the overdue fee taken at close (on top of earlier deductions)
    released: int
    deducted_total: int  # earlier deductions + fee_deducted

    @property
    def taken(self) -> int:
        return self.rent_charged + self.deducted_total


def settle(held: int, rent_owed: int, deducted_so_far: int, fee: int = 0) -> Settlement:
    """Take rent first, then the fee, from what is still held; release the rest. Never beyond `held`."""
    if min(held, rent_owed, deducted_so_far, fee) < 0 or deducted_so_far > held:
        raise ValueError("amounts must be non-negative and deductions within the held amount")
    available = held - deducted_so_far
    rent_charged = min(rent_owed, available)
    fee_deducted = min(fee, available - rent_charged)
    released = available - rent_charged - fee_deducted
    return Settlement(rent_charged, fee_deducted, released, deducted_so_far + fee_deducted)


def settle_return(
    held: int,
    rent_owed: int,
    deducted_so_far: int,
    daily_rent: int,
    due: datetime,
    returned_at: datetime,
    grace_days: int,
) -> tuple[Settlement, bool]:
    """Settlement of a returned item and whether it was on time (back within the grace period)."""
    on_time = returned_at <= overdue_at(due, grace_days)
    fee = 0 if on_time else daily_rent * days_late(due, returned_at)
    return settle(held, rent_owed, deducted_so_far, fee), on_time


def settle_overdue(
    held: int, rent_owed: int, deducted_so_far: int, daily_rent: int, due: datetime, at: datetime
) -> Settlement:
    """Default: rent plus daily_rent x ceil(days late), capped at what is still held."""
    return settle(held, rent_owed, deducted_so_far, daily_rent * days_late(due, at))


def deduction_allowed(held: int, deducted_so_far: int, amount: int) -> bool:
    """An operator's partial deduction never goes beyond what is still held."""
    return 0 < amount <= held - deducted_so_far


def next_wake(
    status: str,
    now: datetime,
    *,
    due: datetime | None,
    grace_days: int,
    freeze_expires_at: datetime | None,
    lapse_margin: timedelta,
    reconcile_after: timedelta,
) -> datetime | None:
    """When the timer sweep must next look at a rental (None: nothing due)."""
    if status in (S.PENDING_FREEZE, S.AWAITING_DEPOSIT):
        return now + reconcile_after
    if status != S.ACTIVE or due is None:
        return None
    wake = overdue_at(due, grace_days)
    if freeze_expires_at is not None:
        wake = min(wake, freeze_expires_at - lapse_margin)
    return wake
