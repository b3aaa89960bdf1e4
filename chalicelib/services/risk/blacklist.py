"""The blacklist as operators see it: list, add, remove. The flag lives on the member item (so every
decision reads it with the member) and the sparse `list` index entry "blacklist" makes it listable."""

from __future__ import annotations

from typing import Any

from ...clock import iso
from ...store.uow import RETRY, UnitOfWork
from ..members import members
from ..members.members import member_key

ENTRY_ATTRS = ["blacklisted", "blacklist_reason", "blacklisted_by", "blacklisted_at", "list_pk", "list_sk"]


def entry(member: dict) -> dict:
    """The admin shape of one blacklisted member."""
    return {
        "member_id": member["member_id"],
        "reason": member.get("blacklist_reason"),
        "by": member.get("blacklisted_by"),
        "at": member.get("blacklisted_at"),
    }


def entries(table: Any, limit: int = 1000) -> list[dict]:
    """Blacklisted members, newest entry first: one Query on the `list` index."""
    items = table.query("list_pk = :p", {":p": "blacklist"}, index="list", forward=False, limit=limit)
    return [entry(i) for i in items]


def add(table: Any, uow: UnitOfWork, member_id: str, reason: str) -> dict:
    """An operator blacklists a member (404 for an unknown member; re-adding keeps the first time)."""
    member = members.load(table, member_id)
    members.stage_blacklist(uow, member_id, reason, uow.actor, uow.now)
    at = member.get("blacklisted_at") if member.get("blacklisted") else None
    return {"member_id": member_id, "reason": reason, "by": uow.actor, "at": at or iso(uow.now)}


def remove(table: Any, uow: UnitOfWork, member_id: str) -> bool:
    """Take a member off the blacklist: flag and list entry gone, audited. False if not on it."""
    member = members.load(table, member_id)
    if not member.get("blacklisted"):
        return False
    uow.update(
        *member_key(member_id), remove=ENTRY_ATTRS, condition="blacklisted = :t", values={":t": True}, on_fail=RETRY
    )  # removed concurrently: the re-read finds nothing to do
    uow.audit(
        f"member#{member_id}",
        "unblacklisted",
        before=entry(member),
        after={"blacklisted": False},
        event="member.unblacklisted",
    )
    return True
