"""Pay-later and installment orders: the status machine, trial, installment quotes, refunds (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .credit import Tier
from .errors import ValidationFailed
from .policy import Policy
from .states import guarded


class OrderStatus(StrEnum):
    """An order's status (API.md 'Orders')."""

    IN_REVIEW = "in_review"  # a risk rule fired; an operator decides
    REJECTED = "rejected"  # refused by the decision or an operator; nothing owed
    PENDING_CHARGE = "pending_charge"  # delivered; charged at charge_at (or on confirm)
    CHARGED = "charged"  # the member paid `charged`
    CANCELLED = "cancelled"  # cancelled before the charge; nothing ever charged
    PAST_DUE = "past_due"  # every charge attempt failed: a default
    PARTIALLY_REFUNDED = "partially_refunded"  # part of the charge went back
    REFUNDED = "refunded"  # all of the charge went back


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.IN_REVIEW: frozenset({S.PENDING_CHARGE, S.REJECTED, S.CANCELLED}),
    S.PENDING_CHARGE: frozenset({S.CHARGED, S.CANCELLED, S.PAST_DUE}),
    S.CHARGED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.PAST_DUE: frozenset(),
    S.REFUNDED: frozenset(),
}


def transition(current: str, target: str) -> OrderStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "an order", current, target)


class OrderKind(StrEnum):
    """What the member takes on credit."""

    PAY_LATER = "pay_later"
    INSTALLMENT = "installment"


INSTALLMENT_CHOICES = (3, 6, 12)
LONG_PLAN_TIERS = frozenset({Tier.SILVER, Tier.GOLD})


def trial_days(requested: int | None, scenario_default: int, policy: Policy) -> int:
    """The pay-later trial: the requested days or the scenario's, within 7-30 (400 on trial_days)."""
    days = scenario_default if requested is None else requested
    if not policy.trial_days_min <= days <= policy.trial_days_max:
        raise ValidationFailed(f"trial_days must be {policy.trial_days_min}-{policy.trial_days_max}", "trial_days")
    return days


def charge_at(created_at: datetime, days: int) -> datetime:
    return created_at + timedelta(days=days)


@dataclass(frozen=True)
class Plan:
    """One installment plan: interest-free, fee paid by the merchant, remainder on the first period."""

    installments: int
    eligible: bool
    first_payment: int
    per_period: int
    reason: str | None = None
    fee_payer: str = "merchant"

    def as_dict(self) -> dict:
        return {
            "installments": self.installments,
            "eligible": self.eligible,
            "first_payment": self.first_payment,
            "per_period": self.per_period,
            "fee_payer": self.fee_payer,
            "reason": self.reason,
        }


def plan(amount: int, n: int, tier: str, policy: Policy, offered: bool = True) -> Plan:
    """Split `amount` into n periods: floor(amount/n) each, the remainder fen on the first.
    `offered`: whether the member's payment provider has installments at all (WeChat Pay has none)."""
    per_period = amount // n
    first = per_period + amount - per_period * n
    reason = None
    if not offered:
        reason = "installments_not_offered"
    elif amount < policy.installment_min_amount:
        reason = "installment_amount_below_minimum"
    elif n == 12 and tier not in LONG_PLAN_TIERS:
        reason = "installment_tier_not_eligible"
    return Plan(n, reason is None, first, per_period, reason)


def quote(amount: int, tier: str, policy: Policy, offered: bool = True) -> list[Plan]:
    return [plan(amount, n, tier, policy, offered) for n in INSTALLMENT_CHOICES]


def require_plan(amount: int, n: int, tier: str, policy: Policy) -> Plan:
    """The plan for a new installment order, or a 400 naming why it is refused."""
    p = plan(amount, n, tier, policy)
    if p.reason == "installment_amount_below_minimum":
        raise ValidationFailed(
            f"installments need at least {policy.installment_min_amount} fen", "amount", code=p.reason
        )
    if p.reason:
        raise ValidationFailed("12 installments are for silver and gold members", "installments", code=p.reason)
    return p


def provider_terms(p: Plan) -> dict:
    """How the Alipay adapter carries the plan (Huabei installments, merchant pays the fee)."""
    return {"hb_fq_num": str(p.installments), "hb_fq_seller_percent": "100"}


def refund_amount(charged: int, refunded: int, requested: int | None) -> int:
    """What a refund takes back: the request, or everything left; never more than is left (400 on amount)."""
    left = charged - refunded
    amount = left if requested is None else requested
    if amount > left:
        raise ValidationFailed(f"at most {left} fen can still be refunded", "amount", code="refund_exceeds_charge")
    return amount


def status_after_refund(charged: int, refunded: int) -> OrderStatus:
    return OrderStatus.REFUNDED if refunded >= charged else OrderStatus.PARTIALLY_REFUNDED
