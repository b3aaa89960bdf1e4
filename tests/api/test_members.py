"""Sessions, credit authorization, GET /v1/me (API.md 'Sessions, credit, members')."""

from __future__ import annotations

from tests.helpers import Api

DAY = 86400


def test_alice_720_is_silver_with_a_5000_yuan_limit(client):
    api = Api(client)
    status, session = api.post("/v1/sessions", {"provider": "sandbox", "code": "alice:720", "device_id": "d1"})
    assert status == 201
    assert session["member_id"].startswith("m_") and session["expires_at"].endswith("Z")
    status, auth = api.post("/v1/credit/authorizations", {}, token=session["token"])
    assert (status, auth["status"], auth["score_band"], auth["tier"]) == (201, "granted", "700-749", "silver")
    status, me = api.get("/v1/me", token=session["token"])
    assert status == 200
    assert me["score_band"] == "700-749" and me["tier"] == "silver"
    assert me["benefits"] == ["priority_shipping", "dedicated_support", "birthday_gift"]
    assert me["credit_limit"] == 500_000 and me["exposure"] == 0 and me["available_credit"] == 500_000
    assert me["blacklisted"] is False and me["on_time_count"] == 0 and me["default_count"] == 0
    assert me["authorization_expires_at"].endswith("Z")
    assert "720" not in str(me)  # the exact score is never returned


def test_the_exact_score_is_never_stored(client, aws):
    api = Api(client)
    token = api.member("zed:733")
    _, me = api.get("/v1/me", token=token)
    member = aws.table.get(f"MEMBER#{me['member_id']}", "MEMBER")
    assert member["band"] == "700-749"
    assert 733 not in member.values() and "733" not in str(member)


def test_bands_and_tiers_follow_the_score(client):
    api = Api(client)
    expected = {
        "bob:580": ("550-599", "none", 100_000),
        "cat:655": ("650-699", "normal", 200_000),
        "dan:760": ("750-799", "gold", 1_000_000),
        "eve:820": ("800-950", "gold", 1_000_000),
        "fay:500": ("0-549", "none", 100_000),
    }
    for code, (band, tier, limit) in expected.items():
        _, me = api.get("/v1/me", token=api.member(code))
        assert (me["score_band"], me["tier"], me["credit_limit"]) == (band, tier, limit), code


def test_same_name_is_same_member_and_score_defaults_to_700(client):
    api = Api(client)
    t1 = api.sign_in("gus")
    t2 = api.sign_in("gus:710")
    assert api.get("/v1/me", token=t1)[1]["member_id"] == api.get("/v1/me", token=t2)[1]["member_id"]
    status, auth = api.post("/v1/credit/authorizations", {}, token=api.sign_in("gus"))
    assert auth["score_band"] == "700-749"


def test_declining_user_is_declined_and_has_no_band(client):
    api = Api(client)
    token = api.sign_in("hal:780:declines")
    status, auth = api.post("/v1/credit/authorizations", {}, token=token)
    assert status == 201 and auth["status"] == "declined"
    _, me = api.get("/v1/me", token=token)
    assert me["score_band"] is None and me["tier"] == "none"


def test_withdrawing_consent_deletes_the_snapshot(client, aws):
    api = Api(client)
    token = api.member("ivy:720")
    status, _ = api.delete("/v1/credit/authorization", token=token)
    assert status == 204
    _, me = api.get("/v1/me", token=token)
    assert me["score_band"] is None and me["tier"] == "none" and me["authorization_expires_at"] is None
    member = aws.table.get(f"MEMBER#{me['member_id']}", "MEMBER")
    assert "band" not in member and "due_pk" not in member


def test_snapshot_expires_after_30_days_through_the_daily_job(client, aws):
    api = Api(client)
    token = api.member("jon:720")
    api.advance(29 * DAY)
    assert api.run_jobs().get("member-timers", 0) == 0
    assert api.get("/v1/me", token=token)[1]["tier"] == "silver"
    api.advance(1 * DAY + 60)
    assert api.get("/v1/me", token=token)[1]["tier"] == "none"  # enforced on read at once
    processed = api.run_jobs()
    assert processed["member-timers"] == 1
    _, me = api.get("/v1/me", token=token)
    member = aws.table.get(f"MEMBER#{me['member_id']}", "MEMBER")
    assert "band" not in member and member["authorization_status"] == "expired"
    assert api.run_jobs().get("member-timers", 0) == 0  # a rerun finds nothing


def test_bad_sandbox_codes_are_400_on_code(client):
    api = Api(client)
    for code in ["", "a:b:c:d", "x:5000", "x:700:nosuchflag", "name with spaces"]:
        status, out = api.post("/v1/sessions", {"provider": "sandbox", "code": code})
        assert status == 400, code
        assert out["error"]["code"] == "validation_error" and out["error"]["field"] == "code", (code, out)


def test_member_routes_need_a_session(client):
    api = Api(client)
    for method, path in [
        ("GET", "/v1/me"),
        ("POST", "/v1/credit/authorizations"),
        ("DELETE", "/v1/credit/authorization"),
    ]:
        status, out = api.call(method, path, {} if method == "POST" else None)
        assert status == 401 and out["error"]["code"] == "unauthenticated", path
    status, out = api.get("/v1/me", token="v1.forged.token")
    assert status == 401
