"""Scenarios: risk level, threshold (auto-adjusted within bounds), trial days, rules on/off."""

from __future__ import annotations

from typing import Any

from ...clock import iso
from ...domain.decision import ScenarioPolicy
from ...domain.errors import ValidationFailed
from ...domain.policy import Policy
from ...domain.risk import RULES
from ...store.dynamo import ConditionFailed
from ...store.uow import RETRY, UnitOfWork, set_or_remove

DEFAULTS: dict[str, str] = {
    "books": "low",
    "power_bank": "low",
    "courses": "low",
    "clothing": "medium",
    "digital": "medium",
    "appliances": "high",
    "high_value": "high",
}
DEFAULT_TRIAL_DAYS = 14


def scenario_key(name: str) -> tuple[str, str]:
    return f"SCENARIO#{name}", "SCENARIO"


def scenario_item(name: str, risk_level: str, policy: Policy, now_iso: str, **over: Any) -> dict:
    base = policy.risk_thresholds[risk_level]
    item = {
        "pk": f"SCENARIO#{name}",
        "sk": "SCENARIO",
        "type": "scenario",
        "name": name,
        "risk_level": risk_level,
        "base_threshold": base,
        "threshold": base,
        "trial_days": DEFAULT_TRIAL_DAYS,
        "auto_adjust": True,
        "rules": {},
        "list_pk": "scenario",
        "list_sk": name,
        "updated_at": now_iso,
    }
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


# -- the operators' side -------------------------------------------------------------------------

VIEW_FIELDS = (
    "name",
    "risk_level",
    "base_threshold",
    "threshold",
    "trial_days",
    "auto_adjust",
    "adjusted_on",
    "updated_at",
)


def view(item: dict) -> dict:
    """The admin shape; `rules` shows every rule with its effective switch (on unless turned off)."""
    out = {k: item.get(k) for k in VIEW_FIELDS}
    switches = dict(item.get("rules") or {})
    out["rules"] = {name: bool(switches.get(name, True)) for name in RULES}
    return out


def list_all(table: Any) -> list[dict]:
    """Every scenario by name: one Query on the `list` index."""
    return [view(i) for i in table.query("list_pk = :p", {":p": "scenario"}, index="list")]


def _version_guard(item: dict) -> tuple[str, dict]:
    """Condition on the version read (absent on seeded items), so a concurrent change forces a re-read."""
    if item.get("version") is None:
        return "attribute_exists(pk) AND attribute_not_exists(version)", {}
    return "attribute_exists(pk) AND version = :v", {":v": item["version"]}


def upsert(table: Any, uow: UnitOfWork, policy: Policy, name: str, changes: dict) -> tuple[dict, bool]:
    """Create (risk_level required) or change a scenario; audited with before/after. -> (view, created)."""
    _check(policy, changes)
    item = table.get(*scenario_key(name))
    if item is None:
        if not changes.get("risk_level"):
            raise ValidationFailed("risk_level is required for a new scenario", "risk_level")
        new = scenario_item(
            name,
            changes["risk_level"],
            policy,
            iso(uow.now),
            version=1,
            **{k: v for k, v in changes.items() if k != "risk_level"},
        )
        uow.put(new, condition="attribute_not_exists(pk)", on_fail=RETRY)
        uow.audit(f"scenario#{name}", "created", after=view(new), event="scenario.created")
        return view(new), True
    updates = dict(changes)
    if "rules" in updates:
        updates["rules"] = {**(item.get("rules") or {}), **updates["rules"]}
    if updates.get("risk_level") and updates["risk_level"] != item.get("risk_level"):
        updates["base_threshold"] = policy.risk_thresholds[updates["risk_level"]]
        updates.setdefault("threshold", updates["base_threshold"])  # a new level starts at its base
    changed = {k: v for k, v in updates.items() if item.get(k) != v}
    if not changed:
        return view(item), False
    condition, values = _version_guard(item)
    uow.update(
        *scenario_key(name),
        **set_or_remove({**changed, "updated_at": iso(uow.now)}),
        add={"version": 1},
        condition=condition,
        values=values or None,
        on_fail=RETRY,
    )
    uow.audit(
        f"scenario#{name}", "updated", before={k: item.get(k) for k in changed}, after=changed, event="scenario.updated"
    )
    return view({**item, **changed, "updated_at": iso(uow.now)}), False


def _check(policy: Policy, changes: dict) -> None:
    """Policy-dependent bounds (the request model checks types and the fixed ranges)."""
    level = changes.get("risk_level")
    if level is not None and level not in policy.risk_thresholds:
        raise ValidationFailed(f"unknown risk level '{level}'", "risk_level")
    days = changes.get("trial_days")
    if days is not None and not policy.trial_days_min <= days <= policy.trial_days_max:
        raise ValidationFailed(f"trial_days must be {policy.trial_days_min}-{policy.trial_days_max}", "trial_days")
    unknown = sorted(set(changes.get("rules") or {}) - set(RULES))
    if unknown:
        raise ValidationFailed(f"unknown rule(s): {', '.join(unknown)}; known: {', '.join(RULES)}", "rules")
