"""Admin risk control through the HTTP routes: blacklist, review queue, scenarios (API.md "Admin")."""

from __future__ import annotations

import pytest

from chalicelib.services import tables
from chalicelib.services.risk import decisions, reviews
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api

ADMIN_ROUTES = [
    ("GET", "/v1/admin/blacklist"),
    ("PUT", "/v1/admin/blacklist/m_x"),
    ("DELETE", "/v1/admin/blacklist/m_x"),
    ("GET", "/v1/admin/reviews?status=pending"),
    ("POST", "/v1/admin/reviews/rv_x/approve"),
    ("POST", "/v1/admin/reviews/rv_x/reject"),
    ("GET", "/v1/admin/scenarios"),
    ("PUT", "/v1/admin/scenarios/books"),
]


def _member(api: Api, code: str) -> tuple[str, str]:
    token = api.member(code)
    return token, api.get("/v1/me", token=token)[1]["member_id"]


def _audit(aws, entity_id: str) -> list[dict]:
    return list(aws.table.query("pk = :p", {":p": f"AUDIT#{entity_id}"}))


# -- auth ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", ADMIN_ROUTES)
def test_admin_routes_need_the_operator_key(client, method, path):
    api = Api(client)
    body = {"reason": "x"} if method == "PUT" else ({} if method == "POST" else None)
    status, out = api.call(method, path, body)
    assert status == 401 and out["error"]["code"] == "unauthenticated"
    status, out = api.call(method, path, body, headers={"Authorization": "Bearer wrong-key"})
    assert status == 401
    token = api.sign_in("mallory:720")
    status, out = api.call(method, path, body, token=token)
    assert status == 403 and out["error"]["code"] == "forbidden"


# -- blacklist -----------------------------------------------------------------------------------------


def test_operator_blacklists_a_member_who_is_then_rejected_everywhere(client, aws):
    api = Api(client)
    token, member_id = _member(api, "bella:760")
    status, entry = api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "chargeback fraud"})
    assert status == 200
    assert entry["member_id"] == member_id and entry["reason"] == "chargeback fraud" and entry["by"] == "admin"
    assert entry["at"].endswith("Z")
    status, listing = api.admin("GET", "/v1/admin/blacklist")
    assert status == 200 and listing["items"] == [entry]
    assert api.get("/v1/me", token=token)[1]["blacklisted"] is True
    # the shared decision pipeline rejects a blacklisted member first, whatever else holds
    inputs = decisions.load(aws, member_id, "books")
    for kind in ("rental", "order", "booking"):
        decision = decisions.run(aws, inputs, kind, 10_000, aws.clock.now())
        assert (decision.outcome, decision.reason) == ("rejected", "blacklisted")
    assert [a["action"] for a in _audit(aws, f"member#{member_id}")].count("blacklisted") == 1


def test_re_blacklisting_keeps_the_first_time_and_lists_once(client):
    api = Api(client)
    _, member_id = _member(api, "cora:700")
    _, first = api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "first"})
    api.advance(3600)
    status, second = api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "second"})
    assert status == 200 and second["at"] == first["at"] and second["reason"] == "second"
    items = api.admin("GET", "/v1/admin/blacklist")[1]["items"]
    assert [(i["member_id"], i["reason"], i["at"]) for i in items] == [(member_id, "second", first["at"])]


def test_blacklist_is_listed_newest_first(client):
    api = Api(client)
    ids = []
    for name in ("dina", "ezra", "finn"):
        _, member_id = _member(api, f"{name}:700")
        api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": name})
        ids.append(member_id)
        api.advance(60)
    items = api.admin("GET", "/v1/admin/blacklist")[1]["items"]
    assert [i["member_id"] for i in items] == ids[::-1]


def test_removing_from_the_blacklist_clears_flag_and_listing(client, aws):
    api = Api(client)
    token, member_id = _member(api, "gina:720")
    api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "mistake"})
    status, body = api.admin("DELETE", f"/v1/admin/blacklist/{member_id}")
    assert status == 204 and body is None
    assert api.admin("GET", "/v1/admin/blacklist")[1]["items"] == []
    assert api.get("/v1/me", token=token)[1]["blacklisted"] is False
    member = aws.table.get(f"MEMBER#{member_id}", "MEMBER")
    assert not {"blacklisted", "list_pk", "list_sk", "blacklist_reason"} & set(member)
    removed = [a for a in _audit(aws, f"member#{member_id}") if a["action"] == "unblacklisted"]
    assert len(removed) == 1 and removed[0]["before"]["reason"] == "mistake"
    assert removed[0]["event_type"] == "member.unblacklisted"
    # a second DELETE is a no-op, not a second audit entry
    assert api.admin("DELETE", f"/v1/admin/blacklist/{member_id}")[0] == 204
    assert len([a for a in _audit(aws, f"member#{member_id}") if a["action"] == "unblacklisted"]) == 1
    decision = decisions.run(aws, decisions.load(aws, member_id, "books"), "rental", 10_000, aws.clock.now())
    assert decision.outcome == "deposit_free"


def test_blacklisting_an_unknown_member_is_404_and_bad_bodies_400(client):
    api = Api(client)
    status, out = api.admin("PUT", "/v1/admin/blacklist/m_nobody", {"reason": "x"})
    assert status == 404 and out["error"]["code"] == "not_found"
    assert api.admin("DELETE", "/v1/admin/blacklist/m_nobody")[0] == 404
    _, member_id = _member(api, "hugo:700")
    for body, field in [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "x", "extra": 1}, "extra"),
    ]:
        status, out = api.admin("PUT", f"/v1/admin/blacklist/{member_id}", body)
        assert status == 400 and out["error"]["field"] == field, body
    assert api.admin("GET", "/v1/admin/blacklist")[1]["items"] == []


# -- review queue --------------------------------------------------------------------------------------


@pytest.fixture
def fake_kind(monkeypatch, aws):
    """A tiny kind whose resolver marks its object, in the review's transaction."""
    calls: list[tuple[str, bool]] = []

    def resolve(deps, uow, review, approved):
        calls.append((review["ref_id"], approved))
        uow.update(
            f"FAKE#{review['ref_id']}",
            "FAKE",
            set={"status": "approved" if approved else "rejected"},
            condition="#s = :r",
            names={"#s": "status"},
            values={":r": "review"},
        )

    monkeypatch.setitem(tables.RESOLVERS, "fake", resolve)
    return calls


def _open_review(aws, ref_id: str, kind: str = "fake", rule: str = "velocity", evidence: dict | None = None) -> str:
    aws.table.put({"pk": f"FAKE#{ref_id}", "sk": "FAKE", "status": "review"})
    uow = UnitOfWork(aws.table, aws.clock.now())
    rid = reviews.stage_open(uow, kind, ref_id, "m_someone", rule, evidence)
    uow.commit()
    return rid


def test_pending_reviews_are_listed_oldest_first_with_their_evidence(client, aws, fake_kind):
    api = Api(client)
    first = _open_review(aws, "r1", evidence={"device_id": "d9", "members_on_device": 4})
    api.advance(60)
    second = _open_review(aws, "r2", rule="amount_spike")
    status, out = api.admin("GET", "/v1/admin/reviews?status=pending")
    assert status == 200
    assert [i["id"] for i in out["items"]] == [first, second]
    item = out["items"][0]
    assert {k: item[k] for k in ("kind", "ref_id", "member_id", "rule", "status")} == {
        "kind": "fake",
        "ref_id": "r1",
        "member_id": "m_someone",
        "rule": "velocity",
        "status": "pending",
    }
    assert item["created_at"].endswith("Z") and item["device_id"] == "d9" and item["evidence"]["members_on_device"] == 4
    assert api.admin("GET", "/v1/admin/reviews")[1] == out  # pending is the default
    status, err = api.admin("GET", "/v1/admin/reviews?status=done")
    assert status == 400 and err["error"]["field"] == "status"


def test_approving_resolves_once_and_a_second_decision_is_409(client, aws, fake_kind):
    api = Api(client)
    rid = _open_review(aws, "r3")
    status, out = api.admin("POST", f"/v1/admin/reviews/{rid}/approve", {})
    assert status == 200 and out["status"] == "approved" and out["decided_by"] == "admin"
    assert fake_kind == [("r3", True)]
    assert aws.table.get("FAKE#r3", "FAKE")["status"] == "approved"
    assert api.admin("GET", "/v1/admin/reviews")[1]["items"] == []
    for action in ("approve", "reject"):
        status, err = api.admin("POST", f"/v1/admin/reviews/{rid}/{action}", {})
        assert status == 409 and err["error"]["code"] == "invalid_state"
    assert fake_kind == [("r3", True)]  # the refused decisions never reached the resolver
    stored = aws.table.get(f"REVIEW#{rid}", "REVIEW")
    assert stored["status"] == "approved" and "list_pk" not in stored
    audit = {a["action"]: a for a in _audit(aws, f"review#{rid}")}
    assert audit["approved"]["event_type"] == "risk.review_approved"
    assert (
        audit["approved"]["before"] == {"status": "pending"} and audit["opened"]["event_type"] == "risk.review_opened"
    )


def test_rejecting_calls_the_resolver_with_approved_false(client, aws, fake_kind):
    api = Api(client)
    rid = _open_review(aws, "r4")
    status, out = api.admin("POST", f"/v1/admin/reviews/{rid}/reject", {"note": "stolen device"})
    assert status == 200 and out["status"] == "rejected" and out["note"] == "stolen device"
    assert aws.table.get("FAKE#r4", "FAKE")["status"] == "rejected"
    audit = [a for a in _audit(aws, f"review#{rid}") if a["action"] == "rejected"]
    assert audit[0]["event_type"] == "risk.review_rejected" and audit[0]["after"]["note"] == "stolen device"


def test_a_resolver_that_refuses_leaves_the_review_pending(client, aws, fake_kind):
    api = Api(client)
    rid = _open_review(aws, "r5")
    aws.table.put({"pk": "FAKE#r5", "sk": "FAKE", "status": "cancelled"})  # the object moved on meanwhile
    status, _ = api.admin("POST", f"/v1/admin/reviews/{rid}/approve", {})
    assert status == 409
    assert aws.table.get(f"REVIEW#{rid}", "REVIEW")["status"] == "pending"  # one transaction: nothing half-written
    assert [i["id"] for i in api.admin("GET", "/v1/admin/reviews")[1]["items"]] == [rid]
    assert not [a for a in _audit(aws, f"review#{rid}") if a["action"] == "approved"]


def test_a_kind_without_resolver_records_the_operators_decision(client, aws):
    api = Api(client)
    rid = _open_review(aws, "r6", kind="unhandled_kind", rule="manual")
    status, out = api.admin("POST", f"/v1/admin/reviews/{rid}/approve", {})
    assert status == 200 and out["status"] == "approved"
    assert aws.table.get(f"REVIEW#{rid}", "REVIEW")["status"] == "approved"


def test_review_decisions_are_idempotent_by_key_and_404_when_unknown(client, aws, fake_kind):
    api = Api(client)
    rid = _open_review(aws, "r7")
    first = api.call(
        "POST", f"/v1/admin/reviews/{rid}/approve", {}, key="k-1", headers={"Authorization": "Bearer local-admin-key"}
    )
    again = api.call(
        "POST", f"/v1/admin/reviews/{rid}/approve", {}, key="k-1", headers={"Authorization": "Bearer local-admin-key"}
    )
    assert first == again and first[0] == 200 and len(fake_kind) == 1
    status, err = api.admin("POST", "/v1/admin/reviews/rv_nope/approve", {})
    assert status == 404 and err["error"]["code"] == "not_found"
    status, err = api.admin("POST", f"/v1/admin/reviews/{rid}/reject", {"note": 3})
    assert status == 400 and err["error"]["field"] == "note"


# -- scenarios -----------------------------------------------------------------------------------------


def test_default_scenarios_are_listed_with_levels_and_thresholds(client):
    api = Api(client)
    status, out = api.admin("GET", "/v1/admin/scenarios")
    assert status == 200
    got = {s["name"]: (s["risk_level"], s["threshold"], s["base_threshold"]) for s in out["items"]}
    assert got == {
        "books": ("low", 600, 600),
        "power_bank": ("low", 600, 600),
        "courses": ("low", 600, 600),
        "clothing": ("medium", 650, 650),
        "digital": ("medium", 650, 650),
        "appliances": ("high", 700, 700),
        "high_value": ("high", 700, 700),
    }
    books = next(s for s in out["items"] if s["name"] == "books")
    assert books["auto_adjust"] is True and books["trial_days"] == 14
    assert books["rules"] == {"velocity": True, "shared_device": True, "amount_spike": True, "first_order_large": True}


def test_creating_a_scenario_needs_a_risk_level(client, aws):
    api = Api(client)
    status, err = api.admin("PUT", "/v1/admin/scenarios/furniture", {"threshold": 680})
    assert status == 400 and err["error"]["field"] == "risk_level"
    status, out = api.admin("PUT", "/v1/admin/scenarios/furniture", {"risk_level": "medium", "trial_days": 21})
    assert status == 201
    assert (out["risk_level"], out["threshold"], out["base_threshold"], out["trial_days"]) == ("medium", 650, 650, 21)
    names = [s["name"] for s in api.admin("GET", "/v1/admin/scenarios")[1]["items"]]
    assert "furniture" in names
    assert [a["action"] for a in _audit(aws, "scenario#furniture")] == ["created"]


def test_changing_a_scenario_is_audited_with_before_and_after(client, aws):
    api = Api(client)
    status, out = api.admin("PUT", "/v1/admin/scenarios/books", {"threshold": 640, "auto_adjust": False})
    assert status == 200 and out["threshold"] == 640 and out["auto_adjust"] is False and out["base_threshold"] == 600
    entries = [a for a in _audit(aws, "scenario#books") if a["action"] == "updated"]
    assert len(entries) == 1
    assert entries[0]["before"] == {"threshold": 600, "auto_adjust": True}
    assert entries[0]["after"] == {"threshold": 640, "auto_adjust": False} and entries[0]["actor"] == "admin"
    # the same values again change nothing and audit nothing
    assert api.admin("PUT", "/v1/admin/scenarios/books", {"threshold": 640})[0] == 200
    assert len([a for a in _audit(aws, "scenario#books") if a["action"] == "updated"]) == 1
    # a new risk level moves the base and, without an explicit threshold, the threshold to it
    _, out = api.admin("PUT", "/v1/admin/scenarios/books", {"risk_level": "high"})
    assert (out["risk_level"], out["base_threshold"], out["threshold"]) == ("high", 700, 700)


def test_scenario_input_is_checked_field_by_field(client):
    api = Api(client)
    cases = [
        ({"threshold": 299}, "threshold"),
        ({"threshold": 951}, "threshold"),
        ({"threshold": "700"}, "threshold"),
        ({"trial_days": 6}, "trial_days"),
        ({"trial_days": 31}, "trial_days"),
        ({"risk_level": "extreme"}, "risk_level"),
        ({"rules": {"velocity": False, "moon_phase": True}}, "rules"),
        ({"rules": {"velocity": "off"}}, "rules.velocity"),
        ({"auto_adjust": "yes"}, "auto_adjust"),
        ({"colour": "red"}, "colour"),
    ]
    for body, field in cases:
        status, err = api.admin("PUT", "/v1/admin/scenarios/books", body)
        assert status == 400 and err["error"]["code"] == "validation_error", body
        assert err["error"]["field"] == field, (body, err)
    status, err = api.admin("PUT", "/v1/admin/scenarios/Bad%20Name", {"risk_level": "low"})
    assert status == 400 and err["error"]["field"] == "name"
    for ok in ({"threshold": 300}, {"threshold": 950}, {"trial_days": 7}, {"trial_days": 30}):
        assert api.admin("PUT", "/v1/admin/scenarios/books", ok)[0] == 200, ok


def test_switching_a_rule_off_per_scenario_stops_it_firing(client, aws):
    api = Api(client)
    _, member_id = _member(api, "iris:760")
    inputs = decisions.load(aws, member_id, "digital")
    big_first = 250_000  # a very first rental over 2,000 yuan
    assert decisions.run(aws, inputs, "rental", big_first, aws.clock.now()).reason == "risk_rule:first_order_large"
    status, out = api.admin("PUT", "/v1/admin/scenarios/digital", {"rules": {"first_order_large": False}})
    assert status == 200 and out["rules"]["first_order_large"] is False and out["rules"]["velocity"] is True
    inputs = decisions.load(aws, member_id, "digital")
    assert decisions.run(aws, inputs, "rental", big_first, aws.clock.now()).outcome == "deposit_free"
    # other scenarios keep the rule on; switching it back on restores it
    books = decisions.load(aws, member_id, "books")
    assert decisions.run(aws, books, "rental", big_first, aws.clock.now()).reason == "risk_rule:first_order_large"
    _, out = api.admin("PUT", "/v1/admin/scenarios/digital", {"rules": {"first_order_large": True}})
    assert out["rules"]["first_order_large"] is True


def test_an_automatic_default_entry_is_listed_with_reason_default(client, aws):
    from chalicelib.services.members import members

    api = Api(client)
    token, member_id = _member(api, "kurt:720")
    uow = UnitOfWork(aws.table, aws.clock.now(), "system")
    members.stage_blacklist(uow, member_id, "default", "system", uow.now)  # what a defaulting close stages
    uow.commit()
    items = api.admin("GET", "/v1/admin/blacklist")[1]["items"]
    assert [(i["member_id"], i["reason"], i["by"]) for i in items] == [(member_id, "default", "system")]
    assert api.get("/v1/me", token=token)[1]["blacklisted"] is True


def test_two_operators_deciding_at_once_resolve_exactly_once(client, aws, fake_kind):
    import threading

    api = Api(client)
    rid = _open_review(aws, "r8")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def decide(action: str) -> None:
        barrier.wait()
        results.append(api.admin("POST", f"/v1/admin/reviews/{rid}/{action}", {})[0])

    threads = [threading.Thread(target=decide, args=(a,)) for a in ("approve", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [200, 409]
    assert len(fake_kind) <= 2 and aws.table.get("FAKE#r8", "FAKE")["status"] in ("approved", "rejected")
    decided = [a for a in _audit(aws, f"review#{rid}") if a["action"] in ("approved", "rejected")]
    assert len(decided) == 1
    assert aws.table.get("FAKE#r8", "FAKE")["status"] == decided[0]["action"]
