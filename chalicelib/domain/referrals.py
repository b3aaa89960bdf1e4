"""Referral (老带新, PRODUCT.md 6): codes, who may bind, and the reward's numbers (pure)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from enum import StrEnum

from .states import guarded

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
BIND_WINDOW = timedelta(days=30)  # after the referee's first sign-in
HOLD = timedelta(days=7)  # after the trigger, without refund or default
REFERRER_REWARD = 2_000  # 20 yuan
REFEREE_REWARD = 1_000  # 10 yuan
REWARD_VALID_DAYS = 30
MONTHLY_CAP = 10  # rewards per referrer per month
PROGRAMME_BUDGET = 5_000_000  # fen across both coupons of every reward (50,000 yuan)
SELF_REFERRAL_RULE = "self_referral"


class ReferralStatus(StrEnum):
    """Where a referral (one referee bound to one referrer) stands."""

    BOUND = "bound"
    """Bound to the referrer's code; no trigger yet."""
    PENDING = "pending"
    """Triggered (first charged order or on-time rental): the 7-day hold runs."""
    REVIEW = "review"
    """A self-referral at the hold's end: earns nothing unless an operator approves."""
    EARNED = "earned"
    """Both coupons issued."""
    VOID = "void"
    """A refund or default in the hold, a rejected review, the cap or the budget."""


R = ReferralStatus
TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    R.BOUND: frozenset({R.PENDING}),
    R.PENDING: frozenset({R.EARNED, R.VOID, R.REVIEW}),
    R.REVIEW: frozenset({R.EARNED, R.VOID}),
    R.EARNED: frozenset(),
    R.VOID: frozenset(),
}


def transition(current: str, target: str) -> ReferralStatus:
    """`target` if allowed from `current`, else InvalidTransition (409 invalid_state)."""
    return guarded(TRANSITIONS, "a referral", current, target)


def code_for(secret: str, member_id: str) -> str:
    """The member's code: stable, short, and not derivable without the deployment's secret."""
    digest = hmac.new(secret.encode(), f"referral:{member_id}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(CODE_LENGTH):
        n, r = divmod(n, len(CODE_ALPHABET))
        out.append(CODE_ALPHABET[r])
    return "".join(out)


def normalize_code(raw: str) -> str | None:
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def too_late(first_sign_in: datetime, now: datetime, orders_so_far: int) -> bool:
    """Binding is for new members: within 30 days of the first sign-in and before any order or rental."""
    return orders_so_far > 0 or now - first_sign_in > BIND_WINDOW


def reward_cost() -> int:
    return REFERRER_REWARD + REFEREE_REWARD
