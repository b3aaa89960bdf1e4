"""POST /v1/admin/campaigns: a coupon for every member of the tier, through the coupon-drops queue, within budget."""

from __future__ import annotations

import concurrent.futures as cf

from chalicelib.services.marketing import campaigns, coupon_drops
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api

BODY = {"tier": "gold", "amount": 2000, "min_spend": 5000, "valid_days": 14}


def coupons_of(api, token, kind="campaign"):
    return [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == kind]


def test_a_gold_campaign_reaches_every_gold_member_once(client, aws):
    api = Api(client)
    golds = [api.member(f"g{i}:{760 + i}") for i in range(3)]
    silver = api.member("s1:720")
    status, out = api.admin("POST", "/v1/admin/campaigns", BODY)
    assert status == 201, out
    assert out["id"].startswith("cmp_") and out["tier"] == "gold" and out["budget"] is None
    assert out["given"] == 0 and out["issued"] == 0
    api.run_jobs()
    api.run_jobs()
    aws.queues.send("coupon-drops", {"type": "campaign_fanout", "campaign_id": out["id"]})  # a late duplicate
    api.run_jobs()
    for t in golds:
        got = coupons_of(api, t)
        assert [(c["amount"], c["min_spend"], c["status"]) for c in got] == [(2000, 5000, "available")]
        assert got[0]["valid_until"] > got[0]["valid_from"]
    assert coupons_of(api, silver) == []
    campaign = aws.table.get(f"CAMPAIGN#{out['id']}", "CAMPAIGN")
    assert campaign["issued"] == 3 and campaign["given"] == 6000 and "due_pk" not in campaign


def test_a_budget_caps_the_total_given(client, aws):
    api = Api(client)
    tokens = [api.member(f"b{i}:770") for i in range(5)]
    status, out = api.admin("POST", "/v1/admin/campaigns", {**BODY, "budget": 5000})
    assert status == 201 and out["budget"] == 5000
    api.run_jobs()
    got = sum(len(coupons_of(api, t)) for t in tokens)
    assert got == 2
    campaign = aws.table.get(f"CAMPAIGN#{out['id']}", "CAMPAIGN")
    assert campaign["given"] == 4000 <= 5000


def test_the_budget_holds_under_concurrent_batches(client, aws):
    api = Api(client)
    ids = [api.get("/v1/me", token=api.member(f"cc{i}:780"))[1]["member_id"] for i in range(12)]
    uow = UnitOfWork(aws.table, aws.clock.now(), "admin", lambda queue, body: None)  # fan-out not delivered:
    view = campaigns.create(uow, "gold", 1000, 0, 7, 7000)  # the batches come by hand below
    assert [body["type"] for _, body in uow.messages()] == ["campaign_fanout"]
    uow.commit()
    grant = coupon_drops.campaign_grant(aws.table.get(f"CAMPAIGN#{view['id']}", "CAMPAIGN"))
    batches = [ids[0:4], ids[4:8], ids[8:12], ids[0:6], ids[6:12], ids]
    with cf.ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda b: coupon_drops.issue(aws, grant, b), batches))
    campaign = aws.table.get(f"CAMPAIGN#{view['id']}", "CAMPAIGN")
    issued = [m for m in ids if aws.table.get(f"COUPON#{grant.coupon_id(m)}", "COUPON")]
    assert campaign["given"] == 7000 and campaign["issued"] == 7 == len(issued)


def test_campaign_input_is_validated_naming_the_field(client):
    api = Api(client)
    cases = [
        ({**BODY, "tier": "platinum"}, "tier"),
        ({**BODY, "amount": 0}, "amount"),
        ({**BODY, "amount": "20"}, "amount"),
        ({**BODY, "min_spend": -1}, "min_spend"),
        ({**BODY, "valid_days": 0}, "valid_days"),
        ({**BODY, "budget": 1000}, "budget"),
        ({k: v for k, v in BODY.items() if k != "tier"}, "tier"),
        ({**BODY, "x": 1}, "x"),
    ]
    for body, field in cases:
        status, out = api.admin("POST", "/v1/admin/campaigns", body)
        assert status == 400 and out["error"]["field"] == field, (body, out)


def test_campaigns_are_for_operators_only(client):
    api = Api(client)
    assert api.post("/v1/admin/campaigns", BODY)[0] == 401
    assert api.post("/v1/admin/campaigns", BODY, token=api.sign_in("nobody"))[0] == 403


def test_a_lost_fanout_message_is_caught_by_the_backstop_sweep(client, aws):
    api = Api(client)
    token = api.member("lost:790")
    uow = UnitOfWork(aws.table, aws.clock.now(), "admin", lambda queue, body: None)  # the fan-out message is lost
    campaigns.create(uow, "gold", 1500, 0, 7, None)
    assert [body["type"] for _, body in uow.messages()] == ["campaign_fanout"]
    uow.commit()
    api.run_jobs()
    assert coupons_of(api, token) == []
    api.advance(campaigns.FANOUT_BACKSTOP_MINUTES * 60 + 1)
    api.run_jobs()
    assert len(coupons_of(api, token)) == 1


def test_percent_off_campaign_coupons_carry_their_cap_and_the_budget_counts_caps(client, aws):
    from chalicelib.domain.coupons import discount

    api = Api(client)
    tokens = [api.member(f"pc{i}:790") for i in range(3)]
    status, out = api.admin("POST", "/v1/admin/campaigns", {**BODY, "amount": 3000, "percent_off": 15, "budget": 6000})
    assert status == 201 and out["percent_off"] == 15
    api.run_jobs()
    got = [c for t in tokens for c in coupons_of(api, t)]
    assert len(got) == 2 and all(c["percent_off"] == 15 and c["amount"] == 3000 for c in got)
    stored = aws.table.get(f"COUPON#{got[0]['id']}", "COUPON")
    assert discount(stored, 10_000) == 1500 and discount(stored, 100_000) == 3000
    status, out = api.admin("POST", "/v1/admin/campaigns", {**BODY, "percent_off": 95})
    assert status == 400 and out["error"]["field"] == "percent_off"
