"""Credit trials: a gold member takes a new product on a deposit-free rental with rent 0, one of
a limited number of slots per product (PRODUCT#<id>/TRIAL_SLOTS `available`, taken under
`available >= 1` in the trial's own transaction, given back on return or refusal).

Self-contained (rentals are built in parallel): the trial asks the provider for its own freeze
("<id>-freeze") after the commit and settles it by asking the provider (`query`) from the
`settle_trials` sweep + worker on `order-timers`, not by the freeze notifications (whose
dispatch belongs to rentals). Return: active -> returning (claimed) -> release "<id>-release"
-> returned, exposure and slot back. Not returned by ends_at: `overdue`, the freeze stays for
the operators (a deduction is the rentals' business).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from ...clock import iso, parse_iso
from ...domain import request_numbers as numbers
from ...domain import trials as rules
from ...domain.decision import Decision, Outcome
from ...domain.errors import Forbidden, InvalidState, NotFound
from ...domain.trials import TrialStatus
from ...log import logger
from ...ports import Deps
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import RETRY, Retry, UnitOfWork, set_or_remove
from ..members import members
from ..risk import decisions


def trial_key(tid: str) -> tuple[str, str]:
    return f"TRIAL#{tid}", "TRIAL"


def slots_key(product_id: str) -> tuple[str, str]:
    return f"PRODUCT#{product_id}", "TRIAL_SLOTS"


def load_own(deps: Deps, member_id: str, tid: str) -> dict:
    item = deps.table.get(*trial_key(tid))
    if not item or item.get("member_id") != member_id:
        raise NotFound("no such trial")
    return item


def view(item: dict) -> dict:
    keys = (
        "id",
        "product_id",
        "item_value",
        "days",
        "rent",
        "status",
        "decision",
        "reason",
        "created_at",
        "ends_at",
        "returned_at",
    )
    return {k: item.get(k) for k in keys}


def add_slots(deps: Deps, uow: UnitOfWork, product_id: str, slots: int) -> dict:
    """Operators open trial slots for a product, staged in the route's transaction (with its Idempotency-Key).
    `available` is what our ADD leaves: the slots open before it (one read) plus these."""
    before = deps.table.get(*slots_key(product_id)) or {}
    uow.update(
        *slots_key(product_id),
        add={"available": slots, "total": slots},
        set={"type": "trial_slots", "product_id": product_id},
    )
    uow.audit(f"product#{product_id}", "trial_slots_added", data={"slots": slots}, event="product.trial_slots_added")
    return {"product_id": product_id, "available": int(before.get("available", 0)) + slots}


def _decide(deps: Deps, inputs: decisions.Inputs, value: int, now: datetime) -> Decision:
    """Blacklist, floor and limit apply; the risk rules do not (the slots are the operators' control)."""
    decision = decisions.run(deps, inputs, "rental", value, now, skip_rules=True)
    if decision.outcome == Outcome.DEPOSIT_FREE:
        return decision
    return Decision(Outcome.REJECTED, decision.reason or "deposit_required")


def create(deps: Deps, uow: UnitOfWork, member_id: str, device_id: str | None, body: Any) -> dict:
    """Take a slot and ask for the deposit-free freeze (gold members only)."""
    now = uow.now
    inputs = decisions.load(deps, member_id, None, device_id)
    members.require_authorized(inputs.member, now)
    if members.tier(inputs.member, now) not in rules.TRIAL_TIERS:
        raise Forbidden("credit trials are for gold members", code="tier_not_eligible")
    decision = _decide(deps, inputs, body.item_value, now)
    tid = "trl_" + secrets.token_hex(10)
    ok = decision.outcome == Outcome.DEPOSIT_FREE
    item = {
        "pk": trial_key(tid)[0],
        "sk": "TRIAL",
        "type": "trial",
        "id": tid,
        "member_id": member_id,
        "provider": inputs.member["provider"],
        "member_ref": inputs.member["provider_user_id"],
        "product_id": body.product_id,
        "item_value": body.item_value,
        "days": body.days,
        "rent": 0,
        "decision": str(decision.outcome),
        "reason": decision.reason,
        "created_at": iso(now),
        "status": str(TrialStatus.PENDING_FREEZE if ok else TrialStatus.REJECTED),
        "ends_at": iso(rules.ends_at(now, body.days)),
        "freeze_expires_at": iso(rules.freeze_until(now, body.days, deps.settings.policy.grace_days)),
    }
    if ok:
        item.update(due_pk=f"timer#trial#{shard_of(tid)}", due_at=iso(now))
        uow.put(
            {"pk": f"PRODUCT#{body.product_id}", "sk": f"TRIAL#{member_id}", "trial_id": tid},
            condition="attribute_not_exists(pk)",
            on_fail=InvalidState("you already had a trial of this product", "product_id", code="already_trialled"),
        )
        uow.update(
            *slots_key(body.product_id),
            add={"available": -1},
            condition="available >= :one",
            values={":one": 1},
            on_fail=InvalidState("no trial slots left for this product", "product_id", code="no_trial_slots"),
        )
        uow.after_commit(lambda: _request_freeze(deps, item))
    uow.put(item, condition="attribute_not_exists(pk)")
    decisions.stage(uow, deps, inputs, decision, "trial", tid, body.item_value)
    uow.audit(
        f"trial#{tid}",
        "created",
        after={"status": item["status"], "item_value": body.item_value},
        event="trial.created",
    )
    return view(item)


def _request_freeze(deps: Deps, item: dict) -> None:
    try:
        deps.provider(item["provider"]).freeze(
            item["id"],
            numbers.number(item["id"], "freeze"),
            item["member_ref"],
            int(item["item_value"]),
            f"credit trial {item['product_id']}",
            parse_iso(item["freeze_expires_at"]),
        )
    except Exception:  # the settle worker asks again with the same request number
        logger.exception("trial freeze request failed", extra={"trial": item["id"]})


def _later(deps: Deps, now: datetime) -> str:
    return iso(now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes))


def _guard(item: dict) -> dict:
    return expect({"status": item["status"]}, on_fail=RETRY)


def _give_back(uow: UnitOfWork, item: dict, **add: int) -> None:
    members.stage_release_exposure(uow, item["member_id"], int(item["item_value"]), **add)
    uow.update(*slots_key(item["product_id"]), add={"available": 1})


def _settle_freeze(deps: Deps, uow: UnitOfWork, item: dict) -> None:
    answer = deps.provider(item["provider"]).query(numbers.number(item["id"], "freeze"))
    if answer is None or answer.status == "pending":
        if answer is None:
            _request_freeze(deps, item)
        uow.update(item["pk"], item["sk"], set={"due_at": _later(deps, uow.now)}, **_guard(item))
        return
    target = TrialStatus.ACTIVE if answer.ok else TrialStatus.REJECTED
    rules.transition(item["status"], target)
    if answer.ok:
        uow.update(
            item["pk"],
            item["sk"],
            **set_or_remove(
                {
                    "status": str(target),
                    "freeze_ref": answer.provider_ref,
                    "due_at": item["ends_at"],
                    "activated_at": iso(uow.now),
                }
            ),
            **_guard(item),
        )
    else:
        uow.update(
            item["pk"],
            item["sk"],
            set={"status": str(target), "reason": "freeze_refused"},
            remove=["due_pk", "due_at"],
            **_guard(item),
        )
        _give_back(uow, item)
    uow.audit(
        f"trial#{item['id']}",
        str(target),
        before={"status": item["status"]},
        after={"status": str(target)},
        event=f"trial.{target}",
    )


def wake(deps: Deps, pk: str, sk: str) -> None:
    """Worker: settle a pending freeze, mark an unreturned trial overdue, or finish a return."""
    item = deps.table.get(pk, sk)
    now = deps.clock.now()
    if not item or "due_at" not in item or parse_iso(item["due_at"]) > now:
        return
    if item["status"] == TrialStatus.RETURNING:
        _finish_return(deps, item)
        return
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    if item["status"] == TrialStatus.PENDING_FREEZE:
        _settle_freeze(deps, uow, item)
    elif item["status"] == TrialStatus.ACTIVE:
        uow.update(pk, sk, set={"status": str(TrialStatus.OVERDUE)}, remove=["due_pk", "due_at"], **_guard(item))
        uow.audit(
            f"trial#{item['id']}",
            "overdue",
            before={"status": "active"},
            after={"status": "overdue"},
            event="trial.overdue",
        )
    try:
        uow.commit()
    except Retry:
        pass  # moved on concurrently; the next wake-up reads again


def return_trial(deps: Deps, uow: UnitOfWork, member_id: str, tid: str) -> dict:
    """The member gives the product back: the freeze is released, nothing is paid.

    Three steps around a provider call: the claim (active|overdue -> returning, with a timer) is an intent
    committed here before the release, so a crash after it is finished by the worker with the same request
    number; the release; and the record (returned, exposure and slot back), which is staged into the
    route's `uow`, so the Idempotency-Key rides in it. A retry of the same request finds the trial
    returning and finishes the release rather than refusing it."""
    item = load_own(deps, member_id, tid)
    if item["status"] != TrialStatus.RETURNING:
        rules.transition(item["status"], TrialStatus.RETURNING)
        claim = UnitOfWork(deps.table, uow.now, uow.actor, deps.queues.send)
        claim.update(
            item["pk"],
            item["sk"],
            set={
                "status": str(TrialStatus.RETURNING),
                "returned_at": iso(uow.now),
                "was": item["status"],
                "due_pk": f"timer#trial#{shard_of(tid)}",
                "due_at": _later(deps, uow.now),
            },
            **_guard(item),
        )
        claim.commit()
        item = {**item, "status": str(TrialStatus.RETURNING), "was": item["status"], "returned_at": iso(uow.now)}
    if _stage_return(deps, uow, item):
        return view({**item, "status": str(TrialStatus.RETURNED)})
    return view(item)  # still returning: the worker asks again (same request number) after the reconcile time


def _stage_return(deps: Deps, uow: UnitOfWork, item: dict) -> bool:
    """Release the freeze; when the provider did, stage `returned` (guarded on `returning`) into `uow`."""
    result = deps.provider(item["provider"]).release(
        numbers.number(item["id"], "release"), item.get("freeze_ref") or "", item["member_ref"], int(item["item_value"])
    )
    if not result.ok:
        return False
    uow.update(
        item["pk"], item["sk"], set={"status": str(TrialStatus.RETURNED)}, remove=["due_pk", "due_at"], **_guard(item)
    )
    _give_back(uow, item, **({"on_time_count": 1} if item.get("was") == TrialStatus.ACTIVE else {}))
    uow.audit(
        f"trial#{item['id']}",
        "returned",
        before={"status": "returning"},
        after={"status": "returned"},
        event="trial.returned",
    )
    return True


def _finish_return(deps: Deps, item: dict) -> None:
    """Worker: finish a return a request claimed but did not record (a crash, or the provider said no)."""
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    if not _stage_return(deps, uow, item):
        return  # still returning: the worker asks again (same request number) after the reconcile time
    try:
        uow.commit()
    except Retry:
        pass  # finished concurrently with the same release request number
