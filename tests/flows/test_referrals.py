"""Referral (老带新) over HTTP: binding rules, the reward after the referee's first charged order and a
7-day hold, voided by a refund in the hold, self-referral to review, the monthly cap and the budget."""

from __future__ import annotations

from chalicelib.domain import referrals as rules
from chalicelib.services.growth import referrals
from tests.helpers import Api

DAY = 86400


def _code(api: Api, token: str) -> str:
    status, out = api.get("/v1/me/referral", token=token)
    assert status == 200, out
    return out["code"]


def _session(api: Api, code: str, referral_code: str | None = None, device_id: str | None = None) -> str:
    body = {"provider": "sandbox", "code": code}
    if referral_code:
        body["referral_code"] = referral_code
    if device_id:
        body["device_id"] = device_id
    status, out = api.post("/v1/sessions", body)
    assert status == 201, out
    assert api.post("/v1/credit/authorizations", {}, token=out["token"])[0] == 201
    return out["token"]


def _charged_order(api: Api, token: str) -> dict:
    status, order = api.post(
        "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000, "trial_days": 7}, token=token
    )
    assert status == 201, order
    api.advance(7 * DAY)
    api.run_jobs()
    api.run_jobs()  # the charge's event reaches the referral
    return api.get(f"/v1/orders/{order['id']}", token=token)[1]


def _coupons(api: Api, token: str) -> list[tuple[str, int]]:
    return [
        (c["kind"], c["amount"]) for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "referral"
    ]


def test_a_referee_bound_at_first_sign_in_earns_both_coupons_after_the_hold(client):
    api = Api(client)
    ref = _session(api, "rfa:720", device_id="rfa-phone")
    code = _code(api, ref)
    new = _session(api, "rfb:720", referral_code=code.lower(), device_id="rfb-phone")
    me = api.get("/v1/me/referral", token=new)[1]
    assert me["referred_by"] == api.get("/v1/me", token=ref)[1]["member_id"]
    assert api.get("/v1/me/referral", token=ref)[1]["invited"] == 1
    assert _charged_order(api, new)["status"] == "charged"
    rewards = api.get("/v1/me/referral", token=ref)[1]["rewards"]
    assert [r["status"] for r in rewards] == ["pending"]
    api.advance(7 * DAY - 120)
    api.run_jobs()
    assert api.get("/v1/me/referral", token=ref)[1]["rewards"][0]["status"] == "pending"
    api.advance(120)
    api.run_jobs()
    api.run_jobs()  # a rerun gives nothing twice
    reward = api.get("/v1/me/referral", token=ref)[1]["rewards"][0]
    assert reward["status"] == "earned" and reward["coupon_id"]
    assert _coupons(api, ref) == [("referral", 2_000)]
    assert _coupons(api, new) == [("referral", 1_000)]
    totals = api.admin("GET", "/v1/admin/metrics")[1]["totals"]
    assert (totals["referrals_bound"], totals["referrals_earned"], totals["referral_rewards_paid"]) == (1, 1, 3_000)


def test_binding_rules(client):
    api = Api(client)
    owner = _session(api, "bro:720", device_id="bro-phone")
    other = _session(api, "brp:720", device_id="brp-phone")
    code, other_code = _code(api, owner), _code(api, other)
    status, out = api.post("/v1/me/referral", {"code": code}, token=owner)
    assert (status, out["error"]["code"]) == (409, "own_code")
    assert api.post("/v1/me/referral", {"code": "ZZZZZZZZ"}, token=other)[0] == 404
    fresh = _session(api, "brq:720", device_id="brq-phone")
    status, out = api.post("/v1/me/referral", {"code": code}, token=fresh)
    assert (status, out["referred_by"]) == (200, api.get("/v1/me", token=owner)[1]["member_id"])
    status, out = api.post("/v1/me/referral", {"code": other_code}, token=fresh)
    assert (status, out["error"]["code"]) == (409, "already_bound")  # the first binding wins
    ordered = _session(api, "brr:720", device_id="brr-phone")
    api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 1_000}, token=ordered)
    status, out = api.post("/v1/me/referral", {"code": code}, token=ordered)
    assert (status, out["error"]["code"]) == (409, "too_late")
    late = _session(api, "brs:720", device_id="brs-phone")
    api.advance(31 * DAY)
    status, out = api.post("/v1/me/referral", {"code": code}, token=late)
    assert (status, out["error"]["code"]) == (409, "too_late")


def test_a_refund_inside_the_hold_voids_the_reward(client):
    api = Api(client)
    ref = _session(api, "rva:720", device_id="rva-phone")
    new = _session(api, "rvb:720", referral_code=_code(api, ref), device_id="rvb-phone")
    order = _charged_order(api, new)
    api.advance(DAY)
    status, out = api.post(f"/v1/orders/{order['id']}/refund", {}, token=new)
    assert status == 200, out
    api.run_jobs()
    api.run_jobs()
    api.advance(7 * DAY)
    api.run_jobs()
    assert api.get("/v1/me/referral", token=ref)[1]["rewards"][0]["status"] == "void"
    assert _coupons(api, ref) == [] and _coupons(api, new) == []


def test_a_self_referral_goes_to_review_and_earns_only_when_approved(client):
    api = Api(client)
    ref = _session(api, "rsa:720", device_id="same-phone")
    new = _session(api, "rsb:720", referral_code=_code(api, ref), device_id="same-phone")
    _charged_order(api, new)
    api.advance(7 * DAY)
    api.run_jobs()
    assert api.get("/v1/me/referral", token=ref)[1]["rewards"][0]["status"] == "review"
    assert _coupons(api, ref) == []
    _, pending = api.admin("GET", "/v1/admin/reviews?status=pending")
    review = next(r for r in pending["items"] if r["rule"] == "self_referral")
    assert api.admin("POST", f"/v1/admin/reviews/{review['id']}/approve", {})[0] == 200
    assert api.get("/v1/me/referral", token=ref)[1]["rewards"][0]["status"] == "earned"
    assert _coupons(api, ref) == [("referral", 2_000)]


def test_the_monthly_cap_and_the_programme_budget_void_extra_rewards(aws):
    now = aws.clock.now()
    month = now.strftime("%Y-%m")
    aws.table.put({"pk": referrals.cap_key("m_capped", month)[0], "sk": month, "count": rules.MONTHLY_CAP})
    item = {"referee_id": "m_ref1", "referrer_id": "m_capped", "status": "pending"}
    aws.table.put({"pk": "REFERRAL#m_ref1", "sk": "REFERRAL", **item})
    assert referrals.grant(aws, item, now) == "void"
    assert aws.table.get("REFERRAL#m_ref1", "REFERRAL")["void_reason"] == "cap"
    aws.table.put(
        {
            "pk": referrals.BUDGET_KEY[0],
            "sk": referrals.BUDGET_KEY[1],
            "spent": rules.PROGRAMME_BUDGET - rules.reward_cost() + 1,
        }
    )
    item2 = {"referee_id": "m_ref2", "referrer_id": "m_free", "status": "pending"}
    aws.table.put({"pk": "REFERRAL#m_ref2", "sk": "REFERRAL", **item2})
    assert referrals.grant(aws, item2, now) == "void"
    assert aws.table.get("REFERRAL#m_ref2", "REFERRAL")["void_reason"] == "budget"
