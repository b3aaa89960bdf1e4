"""The decision pipeline as a use case, shared by rentals, orders and bookings.

Read once (member, scenario, device, coupon in ONE BatchGetItem), decide with the pure domain,
then stage the writes every new application makes: exposure (guarded: exact under concurrency),
the member's order stats for the risk rules, analytics counters, the review item and the coupon hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ...domain import coupons as coupon_rules
from ...domain.decision import Decision, Outcome, decide
from ...domain.errors import NotFound
from ...domain.risk import Application
from ...ports import Deps
from ...store.uow import UnitOfWork
from ..marketing import coupons
from ..members import members
from ..members.members import member_key
from ..ops import metrics
from . import reviews, scenarios
from .scenarios import scenario_key


@dataclass
class Inputs:
    """Everything a decision reads."""

    member: dict
    scenario: dict | None
    device_members: int
    coupon: dict | None


def load(
    deps: Deps, member_id: str, scenario: str | None = None, device_id: str | None = None, coupon_id: str | None = None
) -> Inputs:
    """One round trip for everything a decision needs."""
    keys = [member_key(member_id)]
    if scenario:
        keys.append(scenario_key(scenario))
    if device_id:
        keys.append((f"DEVICE#{device_id}", "DEVICE"))
    if coupon_id:
        keys.append(coupons.coupon_key(coupon_id))
    found = deps.table.batch_get(keys)
    member = found.get(member_key(member_id))
    if not member:
        raise NotFound("member not found")
    scenario_item = scenarios.require(found.get(scenario_key(scenario)), scenario) if scenario else None
    device = found.get((f"DEVICE#{device_id}", "DEVICE")) if device_id else None
    coupon = found.get(coupons.coupon_key(coupon_id)) if coupon_id else None
    return Inputs(member, scenario_item, len((device or {}).get("members", set())), coupon)


def discount(inputs: Inputs, member_id: str, coupon_id: str | None, amount: int, now: datetime) -> int:
    """The coupon's discount on `amount` (0 without a coupon); refuses a coupon that cannot be used."""
    if not coupon_id:
        return 0
    return coupon_rules.check_redeemable(inputs.coupon, member_id, amount, now)


def run(
    deps: Deps,
    inputs: Inputs,
    kind: str,
    amount: int,
    now: datetime,
    exposure_amount: int | None = None,
    skip_rules: bool = False,
) -> Decision:
    """Decide a new application with the pure pipeline."""
    facts = members.facts(inputs.member, now, deps.settings.policy, inputs.device_members)
    policy = scenarios.policy_of(inputs.scenario) if inputs.scenario else None
    return decide(facts, Application(kind, amount, now, exposure_amount), policy, deps.settings.policy, skip_rules)


def stage(
    uow: UnitOfWork,
    deps: Deps,
    inputs: Inputs,
    decision: Decision,
    kind: str,
    ref_id: str,
    amount: int,
    exposure_amount: int | None = None,
    coupon_id: str | None = None,
) -> None:
    """The writes every new application makes, in the caller's transaction."""
    member, now, policy = inputs.member, uow.now, deps.settings.policy
    member_id = member["member_id"]
    adds = amount if exposure_amount is None else exposure_amount
    counted = decision.outcome != Outcome.REJECTED
    if decision.takes_credit and adds > 0:  # one member update: a transaction touches an item once
        limit = members.limit(member, now, policy)
        stats = members.order_stats(member, amount, now, policy) if counted else None
        members.stage_exposure(uow, member_id, adds, max_before=limit - adds, stats=stats)
    elif counted:
        members.stage_order_stats(uow, member, amount, now, policy)
    count = int(member.get("order_count", 0))
    counted_as = {
        "band": members.band(member, now),
        "scenario": (inputs.scenario or {}).get("name"),
        "amount": amount,
        "first_order": counted and count == 0,
        "second_order": counted and count == 1,
    }
    metrics.stage_decision(uow, now.strftime("%Y-%m-%d"), outcome=str(decision.outcome), **counted_as)
    if decision.outcome == Outcome.REVIEW:  # the operator's answer is counted as the final decision
        reviews.stage_open(uow, kind, ref_id, member_id, decision.rule or "unknown", metric=counted_as)
    if coupon_id and decision.outcome != Outcome.REJECTED:
        coupons.stage_reserve(uow, coupon_id, ref_id)
