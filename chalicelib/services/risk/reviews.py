"""The review queue: objects a risk rule flagged wait here for an operator.

Each kind (rental, order, booking) has a resolver (services/tables.py) that continues the object when approved
(as if freshly decided, without the risk rules) or closes it when rejected.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...clock import iso
from ...domain.errors import InvalidState, NotFound
from ...domain.reviews import ReviewStatus, transition
from ...store.guards import expect
from ...store.uow import UnitOfWork, set_or_remove
from ..ops import metrics

Resolver = Callable[..., None]  # (deps, uow, review_item, approved: bool) -> None


def review_id(ref_id: str) -> str:
    return f"rv_{ref_id}"


def review_key(rid: str) -> tuple[str, str]:
    return f"REVIEW#{rid}", "REVIEW"


def stage_open(
    uow: UnitOfWork,
    kind: str,
    ref_id: str,
    member_id: str,
    rule: str,
    evidence: dict | None = None,
    metric: dict | None = None,
) -> str:
    """Open a pending review (and raise the alert: audit entry + risk.review_opened event).
    metric: the labels of metrics.stage_decision, kept so the operator's answer is counted."""
    rid, at = review_id(ref_id), iso(uow.now)
    uow.put(
        {
            "pk": f"REVIEW#{rid}",
            "sk": "REVIEW",
            "type": "review",
            "id": rid,
            "kind": kind,
            "ref_id": ref_id,
            "member_id": member_id,
            "rule": rule,
            "status": str(ReviewStatus.PENDING),
            "created_at": at,
            "evidence": evidence or {},
            "list_pk": "review#pending",
            "list_sk": f"{at}#{rid}",
            **({"metric": metric} if metric else {}),
        },
        condition="attribute_not_exists(pk)",
    )
    uow.audit(
        f"review#{rid}",
        "opened",
        after={"kind": kind, "ref_id": ref_id, "rule": rule, "member_id": member_id},
        event="risk.review_opened",
    )
    return rid


# -- the operators' side: list and decide ---------------------------------------------------------

CORE = ("id", "kind", "ref_id", "member_id", "rule", "status", "created_at", "decided_at", "decided_by", "note")


def view(item: dict) -> dict:
    """The admin shape: the core fields, the evidence, and the evidence's keys spread alongside."""
    evidence = dict(item.get("evidence") or {})
    out = {k: v for k, v in evidence.items() if k not in CORE}
    out.update({k: item.get(k) for k in CORE if k in item})
    out["evidence"] = evidence
    return out


def pending(table: Any, limit: int = 500) -> list[dict]:
    """Pending reviews, oldest first (a queue): one Query on the `list` index."""
    return [view(i) for i in table.query("list_pk = :p", {":p": "review#pending"}, index="list", limit=limit)]


def decide(
    deps: Any, uow: UnitOfWork, rid: str, approved: bool, note: str | None, resolvers: Mapping[str, Resolver]
) -> dict:
    """pending -> approved/rejected (guarded), off the pending list, alert, then the kind's resolver
    (from `resolvers`, kind -> resolver: services/tables.py), all in the caller's transaction.
    A second decision is 409 invalid_state."""
    item = deps.table.get(*review_key(rid))
    if not item:
        raise NotFound("review not found")
    if item.get("status") != ReviewStatus.PENDING:
        raise InvalidState(f"the review is already {item.get('status')}")
    status = str(transition(item["status"], ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED))
    at = iso(uow.now)
    uow.update(
        *review_key(rid),
        **set_or_remove(
            {"status": status, "decided_at": at, "decided_by": uow.actor, "note": note}, remove=["list_pk", "list_sk"]
        ),
        **expect({"status": ReviewStatus.PENDING}, on_fail=InvalidState("the review was decided concurrently")),
    )
    uow.audit(
        f"review#{rid}",
        status,
        before={"status": "pending"},
        after={"status": status, "kind": item["kind"], "ref_id": item["ref_id"], "note": note},
        event=f"risk.review_{status}",
    )
    if item.get("metric"):
        m = item["metric"]
        metrics.stage_decision(
            uow,
            uow.now.strftime("%Y-%m-%d"),
            m.get("band"),
            m.get("scenario"),
            status,
            int(m["amount"]),
            first_order=bool(m.get("first_order")),
            second_order=bool(m.get("second_order")),
        )
    resolve = resolvers.get(item["kind"])
    if resolve:  # no resolver (e.g. a kind handled by hand): the operator's decision is the record
        resolve(deps, uow, item, approved)
    return view({**item, "status": status, "decided_at": at, "decided_by": uow.actor, "note": note})
