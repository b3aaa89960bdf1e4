"""Growth's resolver table: what an operator's answer on a self-referral review does."""

from __future__ import annotations

from . import referrals

RESOLVERS = {"referral": referrals.resolve}
