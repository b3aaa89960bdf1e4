"""Member-day reminders: members opt in; the day before the monthly credit day each opted-in silver or
gold member gets ONE reminder through their provider's channel; they may confirm; operators see counts.

Sweep (`send_credit_day_reminders`): only on the day before the credit day, and once the month's fan-out
is recorded (REMINDERS#<month>) one GetItem; it queries the sparse `group` index per tier and shard (no
Scan) and sends member ids in batches to `reminders`. Worker: per member, claim the month's reminder
(REMINDER#<member> / <month>: a conditional put, so a rerun or a repeated message never sends twice),
send through the provider port, then record `sent` and count it (CREDITDAY#<month> / STATS) in one
transaction. A send the provider refused is `failed` and may be claimed again by a later run; a crash
between the send and its record leaves `sending`, never resent (at most one per member per month).
"""

from __future__ import annotations

from datetime import datetime

from ...clock import iso
from ...domain import reminders as rules
from ...domain.errors import InvalidState
from ...domain.reminders import ReminderStatus as RS
from ...log import logger
from ...ports import Deps
from ...store.dynamo import ConditionFailed
from ...store.guards import ABSENT, expect
from ...store.schema import shard_count
from ...store.uow import Retry, UnitOfWork, set_or_remove
from ..members import members
from ..members.members import member_key
from ..ops import metrics

QUEUE = "reminders"
BATCH = 50
TITLE = "Credit privilege day is tomorrow"
PAGE = "pages/credit-day/index"


def fan_out_key(month: str) -> tuple[str, str]:
    return f"REMINDERS#{month}", "FANOUT"


def reminder_key(member_id: str, month: str) -> tuple[str, str]:
    return f"REMINDER#{member_id}", month


def reminder_of(deps: Deps, month: str) -> rules.Reminder:
    return rules.Reminder(month, rules.credit_date(month, deps.settings.policy.credit_day), TITLE, PAGE)


# -- the member's side --------------------------------------------------------------------------------


def set_choices(deps: Deps, uow: UnitOfWork, member_id: str, credit_day: bool) -> dict:
    uow.update(*member_key(member_id), set={"remind_credit_day": credit_day}, condition="attribute_exists(pk)")
    uow.audit(f"member#{member_id}", "reminders_set", after={"credit_day": credit_day})
    return {"credit_day": credit_day}


def confirm(deps: Deps, uow: UnitOfWork, member_id: str) -> dict:
    """Once per month, only after that month's reminder was sent (409 invalid_state otherwise)."""
    months = rules.confirmable_months(uow.now)
    found = deps.table.batch_get([reminder_key(member_id, m) for m in months])
    sent = next(
        (
            found[reminder_key(member_id, m)]
            for m in months
            if found.get(reminder_key(member_id, m), {}).get("status") == RS.SENT
        ),
        None,
    )
    if not sent:
        raise InvalidState("there is no credit-day reminder to confirm")
    if sent.get("confirmed_at"):
        raise InvalidState("already confirmed for this month")
    month = sent["sk"]
    uow.update(
        *reminder_key(member_id, month),
        set={"confirmed_at": iso(uow.now)},
        **expect({"status": RS.SENT, "confirmed_at": ABSENT}, on_fail=InvalidState("already confirmed for this month")),
    )
    metrics.stage_credit_day(uow, month, {"confirmed": 1})
    uow.audit(f"member#{member_id}", "credit_day_confirmed", data={"month": month}, event="credit_day.confirmed")
    return {
        "month": month,
        "credit_day": rules.credit_date(month, deps.settings.policy.credit_day).isoformat(),
        "confirmed": True,
        "confirmed_at": iso(uow.now),
    }


def report(deps: Deps, month: str) -> dict:
    return {"month": month, **metrics.credit_day(deps.table, month)}


# -- the sweep and the worker ------------------------------------------------------------------------


def fan_out(deps: Deps, now: datetime) -> int:
    month = rules.reminder_month(now, deps.settings.policy.credit_day)
    if month is None or deps.table.get(*fan_out_key(month)):
        return 0
    count, bodies, chunk = 0, [], []
    for tier in rules.REMINDED_TIERS:
        for shard in range(shard_count()):
            for m in deps.table.query("group_pk = :p", {":p": f"tier#{tier}#{shard}"}, index="group"):
                if not m.get("remind_credit_day") or m.get("blacklisted"):
                    continue
                if members.tier(m, now) not in rules.REMINDED_TIERS:
                    continue  # the snapshot lapsed: no longer silver or gold
                chunk.append(m["member_id"])
                count += 1
                if len(chunk) == BATCH:
                    bodies.append({"month": month, "members": chunk})
                    chunk = []
    if chunk:
        bodies.append({"month": month, "members": chunk})
    deps.queues.send_many(QUEUE, bodies)
    deps.table.put({"pk": fan_out_key(month)[0], "sk": "FANOUT", "month": month, "enqueued": count, "at": iso(now)})
    return count


def send_batch(deps: Deps, month: str, member_ids: list[str]) -> int:
    """One reminder per member of the batch who has none for the month yet; returns how many went out."""
    member_ids = list(dict.fromkeys(member_ids))
    found = deps.table.batch_get([member_key(m) for m in member_ids] + [reminder_key(m, month) for m in member_ids])
    reminder = reminder_of(deps, month)
    sent = 0
    for member_id in member_ids:
        member, record = found.get(member_key(member_id)), found.get(reminder_key(member_id, month))
        if not member or (record and record.get("status") != RS.FAILED):
            continue
        sent += _send_one(deps, member, record, reminder)
    return sent


def _send_one(deps: Deps, member: dict, record: dict | None, reminder: rules.Reminder) -> int:
    member_id, now = member["member_id"], deps.clock.now()
    pk, sk = reminder_key(member_id, reminder.month)
    status = rules.transition(record["status"], RS.SENDING) if record else RS.SENDING  # new: claimed straight
    claim = {
        "pk": pk,
        "sk": sk,
        "type": "reminder",
        "status": str(status),
        "provider": member["provider"],
        "claimed_at": iso(now),
        "attempts": int((record or {}).get("attempts", 0)) + 1,
    }
    try:
        deps.table.put(claim, **expect({"status": (ABSENT, RS.FAILED)}))
    except ConditionFailed:
        return 0  # another delivery claimed it: it sends, never us
    try:
        result = deps.provider(member["provider"]).send_reminder(member["provider_user_id"], reminder)
    except Exception as exc:  # noqa: BLE001 - a provider outage: failed, a later run may claim it again
        logger.warning("reminder not sent", extra={"member_id": member_id, "error": str(exc)})
        result = None
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    ok = bool(result and result.ok)
    uow.update(
        pk,
        sk,
        **set_or_remove(
            {
                "status": str(rules.transition(RS.SENDING, RS.SENT if ok else RS.FAILED)),
                "provider_ref": result.provider_ref if result else None,
                "reason": None if ok else (result.reason if result else "provider_error"),
                "done_at": iso(uow.now),
            }
        ),
        **expect({"status": RS.SENDING, "claimed_at": claim["claimed_at"]}, on_fail=Retry),
    )
    if ok:
        metrics.stage_credit_day(uow, reminder.month, {"reminded": 1})
        uow.audit(
            f"member#{member_id}", "credit_day_reminded", data={"month": reminder.month}, event="credit_day.reminded"
        )
    try:
        uow.commit()
    except Retry:
        return 0
    return int(ok)
