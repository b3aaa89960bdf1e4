"""Admin risk control (API.md "Admin"): blacklist, review queue, scenarios. Operator key only."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from ..domain.errors import ValidationFailed
from ..lazy import Lazy
from .routing import Ctx, Staged, route

blacklist = Lazy("chalicelib.services.risk.blacklist")
reviews = Lazy("chalicelib.services.risk.reviews")
scenarios = Lazy("chalicelib.services.risk.scenarios")
tables = Lazy("chalicelib.services.tables")  # kind -> review resolver

bp = Blueprint(__name__)
M = "admin_risk:"
SCENARIO_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


# -- blacklist ---------------------------------------------------------------------------------------


@route(bp, "/v1/admin/blacklist", "GET", auth="admin", response=M + "BlacklistOut", tag="admin")
def list_blacklist(ctx: Ctx, _: Any) -> dict:
    """Blacklisted members, newest first, with reason, who and when."""
    return {"items": blacklist.entries(ctx.deps.table)}


@route(
    bp,
    "/v1/admin/blacklist/{member_id}",
    "PUT",
    auth="admin",
    body=M + "BlacklistIn",
    response=M + "BlacklistEntry",
    tag="admin",
)
def put_blacklist(ctx: Ctx, body: Any, member_id: str) -> Staged:
    """Blacklist a member with a reason (unknown member: 404)."""
    uow = ctx.uow()
    return Staged(uow, blacklist.add(ctx.deps.table, uow, member_id, body.reason))


@route(bp, "/v1/admin/blacklist/{member_id}", "DELETE", auth="admin", status=204, tag="admin")
def delete_blacklist(ctx: Ctx, _: Any, member_id: str) -> None:
    """Take a member off the blacklist (a member not on it: nothing to do)."""
    uow = ctx.uow()
    if blacklist.remove(ctx.deps.table, uow, member_id):
        uow.commit()


# -- review queue ------------------------------------------------------------------------------------


@route(bp, "/v1/admin/reviews", "GET", auth="admin", query=M + "ReviewsQuery", response=M + "ReviewsOut", tag="admin")
def list_reviews(ctx: Ctx, query: Any) -> dict:
    """Objects a risk rule sent to review, oldest first, with the rule and evidence."""
    return {"items": reviews.pending(ctx.deps.table)}


def _decide(ctx: Ctx, body: Any, review_id: str, approved: bool) -> Staged:
    uow = ctx.uow()
    return Staged(uow, reviews.decide(ctx.deps, uow, review_id, approved, body.note, tables.RESOLVERS))


@route(
    bp,
    "/v1/admin/reviews/{review_id}/approve",
    "POST",
    auth="admin",
    body=M + "ReviewDecisionIn",
    response=M + "ReviewOut",
    tag="admin",
)
def approve_review(ctx: Ctx, body: Any, review_id: str) -> Staged:
    """Approve: the object continues as if freshly decided without the risk rules."""
    return _decide(ctx, body, review_id, True)


@route(
    bp,
    "/v1/admin/reviews/{review_id}/reject",
    "POST",
    auth="admin",
    body=M + "ReviewDecisionIn",
    response=M + "ReviewOut",
    tag="admin",
)
def reject_review(ctx: Ctx, body: Any, review_id: str) -> Staged:
    """Reject: the object is rejected and its exposure released."""
    return _decide(ctx, body, review_id, False)


# -- scenarios ---------------------------------------------------------------------------------------


@route(bp, "/v1/admin/scenarios", "GET", auth="admin", response=M + "ScenariosOut", tag="admin")
def list_scenarios(ctx: Ctx, _: Any) -> dict:
    """Every scenario: risk level, base and current threshold, trial days, auto-adjust, rules."""
    return {"items": scenarios.list_all(ctx.deps.table)}


@route(
    bp,
    "/v1/admin/scenarios/{name}",
    "PUT",
    auth="admin",
    body=M + "ScenarioIn",
    response=M + "ScenarioOut",
    tag="admin",
)
def put_scenario(ctx: Ctx, body: Any, name: str) -> Staged:
    """Create (risk_level required) or change a scenario; every change is audited."""
    if not SCENARIO_NAME.match(name):
        raise ValidationFailed("a scenario name is 1-64 of a-z, 0-9, _", "name")
    uow = ctx.uow()
    changes = body.model_dump(exclude_none=True)
    view, created = scenarios.upsert(ctx.deps.table, uow, ctx.deps.settings.policy, name, changes)
    return Staged(uow, view, 201 if created else 200)
