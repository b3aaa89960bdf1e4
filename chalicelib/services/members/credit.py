"""Sign-in, credit authorization, consent withdrawal and snapshot expiry."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ...clock import iso, parse_iso
from ...domain import credit
from ...domain import request_numbers as numbers
from ...domain.errors import DomainError, ProviderNotConfigured, ValidationFailed
from ...ports import Deps
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from ...tokens import issue_token
from ..marketing import coupons
from ..ops import metrics
from . import members
from .members import SNAPSHOT_ATTRS, member_key


def sign_in(deps: Deps, uow: UnitOfWork, provider_name: str, code: str, device_id: str | None) -> dict:
    """Log in with the mini-program code; creates the member on first sight."""
    if provider_name == "sandbox" and not deps.settings.sandbox_enabled:
        raise ValidationFailed("the sandbox provider is not available in this stage", "provider")
    try:
        identity = deps.provider(provider_name).login(code)
    except ProviderNotConfigured as exc:  # this deployment does not offer the provider: the caller's choice
        raise ValidationFailed(f"the {provider_name} provider is not enabled on this deployment", "provider") from exc
    member_id = members.member_id_for(provider_name, identity.provider_user_id)
    now = iso(uow.now)
    uow.update(
        *member_key(member_id),
        **set_or_remove(
            {
                "member_id": member_id,
                "provider": provider_name,
                "provider_user_id": identity.provider_user_id,
                "type": "member",
                "last_device": device_id,
                "last_seen_at": now,
            }
        ),
        set_raw=["created_at = if_not_exists(created_at, :now)", "exposure = if_not_exists(exposure, :zero)"],
        values={":now": now, ":zero": 0},
    )
    if device_id:
        uow.update(f"DEVICE#{device_id}", "DEVICE", add={"members": {member_id}})
    expires = int(time.time()) + deps.settings.session_hours * 3600
    token = issue_token(deps.settings.session_secret, member_id, provider_name, device_id, expires)
    return {"token": token, "member_id": member_id, "expires_at": iso(datetime.fromtimestamp(expires, tz=timezone.utc))}


def authorize(deps: Deps, uow: UnitOfWork, member_id: str) -> dict:
    """Ask the provider for the member's band; keep only the band; reward good credit."""
    member = members.load(deps.table, member_id)
    now = uow.now
    answer = deps.provider(member["provider"]).authorize_credit(
        member["provider_user_id"], numbers.consent_number(member_id, int(now.timestamp()))
    )
    day = now.strftime("%Y-%m-%d")
    if answer.status == "pending":
        return {"status": "pending", "provider_params": answer.provider_params}
    if answer.status != "granted" or not answer.band:
        previous = member.get("band")
        uow.update(
            *member_key(member_id),
            set={"authorization_status": "declined"},
            remove=SNAPSHOT_ATTRS,
            **_band_guard(previous),
        )
        uow.audit(f"member#{member_id}", "credit_declined", event="credit.declined")
        metrics.stage_authorization(uow, day, None)
        metrics.stage_band_left(uow, previous)
        return {"status": "declined", "score_band": None, "tier": "none"}
    return stage_granted(deps, uow, member, answer.band, day)


def stage_granted(deps: Deps, uow: UnitOfWork, member: dict, band: str, day: str) -> dict:
    """Write a granted snapshot (also used when a provider answers by callback)."""
    now, policy, member_id = uow.now, deps.settings.policy, member["member_id"]
    old_tier = members.tier(member, now) if member.get("ever_granted") else str(credit.Tier.NONE)
    new_tier = str(credit.tier_of(band))
    writes = members.snapshot_writes(band, now, policy, member_id)
    rewards = coupons.stage_grant_rewards(deps.table, uow, member, new_tier, band, policy)
    writes.update(rewards.writes, ever_granted=True)
    previous = member.get("band")
    guard = _band_guard(previous)
    values = {**(rewards.values or {}), **(guard["values"] or {})}
    uow.update(
        *member_key(member_id),
        **set_or_remove(writes),
        condition=" AND ".join(["attribute_exists(pk)", *rewards.conditions, guard["condition"]]),
        values=values or None,
        on_fail=RETRY,
    )
    uow.audit(
        f"member#{member_id}",
        "credit_granted",
        before={"tier": old_tier},
        after={"band": band, "tier": new_tier},
        event="credit.granted",
    )
    metrics.stage_authorization(uow, day, band, previous)
    return {"status": "granted", "score_band": band, "tier": new_tier}


def _band_guard(previous: str | None) -> dict:
    """The member's band is still what we read (keeps the members-by-band gauge exact under races)."""
    if previous:
        return {"condition": "band = :prev_band", "values": {":prev_band": previous}, "on_fail": RETRY}
    return {"condition": "attribute_not_exists(band)", "values": None, "on_fail": RETRY}


def withdraw(deps: Deps, uow: UnitOfWork, member_id: str) -> None:
    """Consent withdrawn: the snapshot is deleted (idempotent)."""
    previous = members.load(deps.table, member_id).get("band")
    uow.update(
        *member_key(member_id),
        set={"authorization_status": "withdrawn"},
        remove=SNAPSHOT_ATTRS,
        **_band_guard(previous),
    )
    uow.audit(f"member#{member_id}", "consent_withdrawn", event="credit.withdrawn")
    metrics.stage_band_left(uow, previous)


def expire_snapshot(deps: Deps, member_id: str) -> bool:
    """Worker: delete a snapshot whose 30 days are up (a no-op if renewed or already gone)."""
    member = deps.table.get(*member_key(member_id))
    now = deps.clock.now()
    expires = (member or {}).get("authorization_expires_at")
    if not member or not expires or parse_iso(expires) > now:
        return False
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    uow.update(
        *member_key(member_id),
        set={"authorization_status": "expired"},
        remove=SNAPSHOT_ATTRS,
        condition="authorization_expires_at = :e",
        values={":e": expires},
    )
    uow.audit(f"member#{member_id}", "authorization_expired", event="credit.expired")
    metrics.stage_band_left(uow, member.get("band"))
    try:
        uow.commit()
    except (Retry, DomainError):  # renewed concurrently: nothing to do
        return False
    return True
