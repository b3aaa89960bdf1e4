"""The review queue: objects a risk rule flagged wait here for an operator.

Each kind (rental, order, booking) registers a resolver that continues the object when approved
(as if freshly decided, without the risk rules) or closes it when rejected.
"""
from __future__ import annotations

from typing import Callable

from ..clock import iso
from ..store.uow import UnitOfWork

Resolver = Callable[..., None]  # (deps, uow, review_item, approved: bool) -> None
RESOLVERS: dict[str, Resolver] = {}


def resolver(kind: str) -> Callable[[Resolver], Resolver]:
    """Register how a kind continues after an operator's approve/reject."""

    def register(fn: Resolver) -> Resolver:
        RESOLVERS[kind] = fn
        return fn

    return register


def review_id(ref_id: str) -> str:
    return f"rv_{ref_id}"


def review_key(rid: str) -> tuple[str, str]:
    return f"REVIEW#{rid}", "REVIEW"


def stage_open(uow: UnitOfWork, kind: str, ref_id: str, member_id: str, rule: str,
               evidence: dict | None = None) -> str:
    """Open a pending review (and raise the alert: audit entry + risk.review_opened event)."""
    rid, at = review_id(ref_id), iso(uow.now)
    uow.put({"pk": f"REVIEW#{rid}", "sk": "REVIEW", "type": "review", "id": rid, "kind": kind, "ref_id": ref_id,
             "member_id": member_id, "rule": rule, "status": "pending", "created_at": at,
             "evidence": evidence or {}, "list_pk": "review#pending", "list_sk": f"{at}#{rid}"},
            condition="attribute_not_exists(pk)")
    uow.audit(f"review#{rid}", "opened", after={"kind": kind, "ref_id": ref_id, "rule": rule, "member_id": member_id},
              event="risk.review_opened")
    return rid
