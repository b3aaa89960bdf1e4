"""The referral's triggers from domain events (jobs/reactions.py, fed by the outbox): a rental closed
returned on time starts the hold, a defaulted one voids it; a repeated event changes nothing."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.clock import iso
from chalicelib.jobs import reactions
from chalicelib.services.growth.referrals import referral_key


def _referral(aws, referee: str, status: str = "bound", **extra) -> None:
    aws.table.put(
        {
            "pk": referral_key(referee)[0],
            "sk": "REFERRAL",
            "type": "referral",
            "referee_id": referee,
            "referrer_id": "m_referrer",
            "status": status,
            **extra,
        }
    )


def _rental(aws, rid: str, member_id: str, outcome: str, late: bool = False) -> None:
    now = aws.clock.now()
    aws.table.put(
        {
            "pk": f"RENTAL#{rid}",
            "sk": "RENTAL",
            "id": rid,
            "member_id": member_id,
            "outcome": outcome,
            "return_by": iso(now),
            "returned_at": iso(now + timedelta(hours=2 if late else -2)),
        }
    )


def _closed(aws, rid: str) -> dict:
    return {"event_type": "rental.closed", "entity_id": f"rental#{rid}", "at": iso(aws.clock.now())}


def test_a_rental_returned_on_time_starts_the_hold_once_and_a_late_one_does_not(aws):
    _referral(aws, "m_ontime")
    _rental(aws, "rt_ontime", "m_ontime", "returned")
    reactions.react(aws, _closed(aws, "rt_ontime"))
    first = aws.table.get(*referral_key("m_ontime"))
    assert first["status"] == "pending" and first["trigger"] == "rental#rt_ontime"
    reactions.react(aws, _closed(aws, "rt_ontime"))  # at least once: a repeat changes nothing
    assert aws.table.get(*referral_key("m_ontime"))["hold_until"] == first["hold_until"]
    _referral(aws, "m_late")
    _rental(aws, "rt_late", "m_late", "returned", late=True)
    reactions.react(aws, _closed(aws, "rt_late"))
    assert aws.table.get(*referral_key("m_late"))["status"] == "bound"


def test_a_default_inside_the_hold_voids_the_reward(aws):
    hold_until = iso(aws.clock.now() + timedelta(days=3))
    _referral(aws, "m_default", status="pending", hold_until=hold_until, due_pk="timer#referral#0", due_at=hold_until)
    _rental(aws, "rt_default", "m_default", "defaulted")
    reactions.react(aws, _closed(aws, "rt_default"))
    item = aws.table.get(*referral_key("m_default"))
    assert (item["status"], item["void_reason"]) == ("void", "rental#rt_default")
    assert "due_pk" not in item  # no reward timer left
