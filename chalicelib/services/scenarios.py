"""Scenarios: risk level, threshold (auto-adjusted within bounds), trial days, rules on/off."""
from __future__ import annotations

from typing import Any

from ..clock import iso
from ..config import Policy
from ..domain.decision import ScenarioPolicy
from ..domain.errors import ValidationFailed
from ..store.dynamo import ConditionFailed

DEFAULTS: dict[str, str] = {
    "books": "low", "power_bank": "low", "courses": "low",
    "clothing": "medium", "digital": "medium",
    "appliances": "high", "high_value": "high",
}
DEFAULT_TRIAL_DAYS = 14


def scenario_key(name: str) -> tuple[str, str]:
    return f"SCENARIO#{name}", "SCENARIO"


def scenario_item(name: str, risk_level: str, policy: Policy, now_iso: str, **over: Any) -> dict:
    base = policy.risk_thresholds[risk_level]
    item = {"pk": f"SCENARIO#{name}", "sk": "SCENARIO", "type": "scenario", "name": name, "risk_level": risk_level,
            "base_threshold": base, "threshold": base, "trial_days": DEFAULT_TRIAL_DAYS, "auto_adjust": True,
            "rules": {}, "list_pk": "scenario", "list_sk": name, "updated_at": now_iso}
    item.update({k: v for k, v in over.items() if v is not None})
    return item


def seed_defaults(table: Any, policy: Policy, now: Any) -> int:
    """Create the default scenarios that do not exist yet (never overwrites an operator's change)."""
    created = 0
    for name, level in DEFAULTS.items():
        try:
            table.put(scenario_item(name, level, policy, iso(now)), condition="attribute_not_exists(pk)")
            created += 1
        except ConditionFailed:
            pass
    return created


def policy_of(item: dict) -> ScenarioPolicy:
    return ScenarioPolicy(item["name"], int(item["threshold"]), dict(item.get("rules") or {}))


def require(item: dict | None, name: str) -> dict:
    """An unknown scenario is a 400 on field `scenario`."""
    if not item:
        raise ValidationFailed(f"unknown scenario '{name}'", "scenario")
    return item
