"""Coupons: first-order subsidy, upgrade rewards, the credit day, campaigns, GET /v1/coupons."""

from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.clock import parse_iso
from chalicelib.services.marketing import coupon_drops
from chalicelib.store.schema import shard_count, shard_of
from tests.helpers import Api


def move_to(api: Api, day: int, months_ahead: int = 1, hour: int = 2) -> datetime:
    """Move the sandbox clock to `day` of a later month (UTC)."""
    now = parse_iso(api.get("/v1/sandbox/clock")[1]["now"])
    year, month = now.year + (now.month - 1 + months_ahead) // 12, (now.month - 1 + months_ahead) % 12 + 1
    target = datetime(year, month, day, hour, tzinfo=timezone.utc)
    return parse_iso(api.advance(int((target - now).total_seconds()) + 1))


def coupons_of(api: Api, token: str, kind: str | None = None) -> list[dict]:
    status, out = api.get("/v1/coupons", token=token)
    assert status == 200, out
    return [c for c in out["coupons"] if kind is None or c["kind"] == kind]


def member_id(api: Api, token: str) -> str:
    return api.get("/v1/me", token=token)[1]["member_id"]


# -- first-order subsidy --------------------------------------------------------------------


def test_first_order_subsidy_by_band_and_none_below_600(client):
    api = Api(client)
    expected = {"a1:580": None, "a2:610": 500, "a3:660": 1000, "a4:720": 2000, "a5:770": 3500, "a6:820": 5000}
    for code, amount in expected.items():
        got = coupons_of(api, api.member(code), "first_order")
        if amount is None:
            assert got == [], code
        else:
            assert len(got) == 1 and got[0]["amount"] == amount and got[0]["min_spend"] == 0, (code, got)
            assert got[0]["status"] == "available"
            days = parse_iso(got[0]["valid_until"]) - parse_iso(got[0]["valid_from"])
            assert days.days == 30


def test_first_order_subsidy_is_given_once_ever(client, aws):
    api = Api(client)
    token = api.member("bo:720")
    for code in ("bo:720", "bo:820", "bo:610"):  # re-authorizations, new sessions, new devices
        t = api.sign_in(code, device_id=f"dev-{code}")
        assert api.post("/v1/credit/authorizations", {}, token=t)[0] == 201
    assert len(coupons_of(api, token, "first_order")) == 1


def test_first_order_subsidy_is_keyed_on_the_provider_user_not_the_member_record(client, aws):
    api = Api(client)
    token = api.member("cy:720")
    mid = member_id(api, token)
    # the member record is lost (or rebuilt): the provider's user still had the subsidy
    aws.table.delete(f"MEMBER#{mid}", "MEMBER")
    token = api.member("cy:720")
    assert len(coupons_of(api, token, "first_order")) == 1


# -- upgrade reward -------------------------------------------------------------------------


def test_upgrade_reward_when_reauthorization_raises_the_tier_once_per_tier(client):
    api = Api(client)
    token = api.member("alice:680")  # normal: subsidy only
    assert coupons_of(api, token, "upgrade") == []
    api.member("alice:720")  # silver
    api.member("alice:720")  # again: nothing new
    assert [c["amount"] for c in coupons_of(api, token, "upgrade")] == [1000]
    api.member("alice:760")  # gold
    api.member("alice:720")  # falls back to silver
    api.member("alice:790")  # and climbs back to gold: already reached
    upgrades = sorted(c["amount"] for c in coupons_of(api, token, "upgrade"))
    assert upgrades == [1000, 3000]
    assert len(coupons_of(api, token, "first_order")) == 1


def test_a_first_grant_at_gold_is_not_an_upgrade(client):
    api = Api(client)
    token = api.member("gil:780")
    assert coupons_of(api, token, "upgrade") == []
    assert [c["amount"] for c in coupons_of(api, token, "first_order")] == [3500]


# -- the credit day -------------------------------------------------------------------------


def test_credit_day_gives_one_coupon_per_member_per_month_however_often_it_runs(client, aws):
    api = Api(client)
    move_to(api, 1)
    tokens = {code: api.member(code) for code in ("gold1:760", "gold2:800", "silv:720", "norm:660", "none:590")}
    api.run_jobs()
    assert all(coupons_of(api, t, "credit_day") == [] for t in tokens.values())  # before the 8th: nothing
    move_to(api, 8, months_ahead=0)
    first = api.run_jobs()
    assert first["coupon-drops"] >= 2
    again = api.run_jobs()
    assert again.get("coupon-drops", 0) == 0  # the month's drop is recorded: the job is a no-op
    # the job run again regardless (a page per tier and shard), and a page delivered twice
    assert coupon_drops.drop_credit_day(aws, aws.clock.now(), force=True) == 2 * shard_count()
    month = aws.clock.now().strftime("%Y-%m")
    for _ in range(2):
        aws.queues.send(
            "coupon-drops",
            {
                "type": "credit_day_page",
                "month": month,
                "tier": "gold",
                "shard": shard_of(member_id(api, tokens["gold1:760"])),
            },
        )
    api.run_jobs()
    got = {
        code: [(c["amount"], c["min_spend"]) for c in coupons_of(api, t, "credit_day")] for code, t in tokens.items()
    }
    assert got == {
        "gold1:760": [(3000, 9900)],
        "gold2:800": [(3000, 9900)],
        "silv:720": [(1500, 9900)],
        "norm:660": [],
        "none:590": [],
    }
    coupon = coupons_of(api, tokens["silv:720"], "credit_day")[0]
    assert coupon["valid_from"].startswith(month + "-01T00:00:00") and coupon["status"] == "available"
    assert parse_iso(coupon["valid_until"]).day == 1


def test_the_credit_day_drop_reads_every_shard_page_by_page_and_misses_no_member(client, aws, monkeypatch):
    monkeypatch.setattr(coupon_drops, "PAGE", 2)  # pages of two: most shards need a second or third page
    api = Api(client)
    move_to(api, 1)
    tokens = [api.member(f"pg{i}:760") for i in range(9)]
    ids = [member_id(api, t) for t in tokens]
    per_shard = [sum(1 for m in ids if shard_of(m) == s) for s in range(shard_count())]
    assert max(per_shard) > 2  # at least one shard needs a page handed on
    move_to(api, 8, months_ahead=0)
    processed = api.run_jobs()
    assert processed["coupon-drops"] >= 2 * shard_count() + sum(n // 2 for n in per_shard)  # first + next pages
    assert [len(coupons_of(api, t, "credit_day")) for t in tokens] == [1] * 9


def test_a_used_credit_day_coupon_is_never_reset_by_a_redelivery(client, aws):
    from chalicelib.services.marketing.coupons import stage_consume, stage_reserve
    from chalicelib.store.uow import UnitOfWork

    api = Api(client)
    move_to(api, 8)
    token = api.member("usr:760")
    api.run_jobs()
    coupon = coupons_of(api, token, "credit_day")[0]
    uow = UnitOfWork(aws.table, aws.clock.now())
    stage_reserve(uow, coupon["id"], "order-1")
    uow.commit()
    uow = UnitOfWork(aws.table, aws.clock.now())
    stage_consume(uow, coupon["id"], "order-1")
    uow.commit()
    coupon_drops.drop_credit_day(aws, aws.clock.now(), force=True)
    api.run_jobs()
    assert [(c["id"], c["status"]) for c in coupons_of(api, token, "credit_day")] == [(coupon["id"], "used")]


def test_credit_day_comes_again_next_month_and_expires_with_its_month(client):
    api = Api(client)
    move_to(api, 8)
    token = api.member("mon:730")
    api.run_jobs()
    move_to(api, 2)
    api.member("mon:730")  # re-authorized before the snapshot lapses
    move_to(api, 8, months_ahead=0)
    api.run_jobs()
    got = sorted((c["valid_from"][:7], c["status"]) for c in coupons_of(api, token, "credit_day"))
    assert len(got) == 2 and got[0][1] == "expired" and got[1][1] == "available"


def test_expired_or_blacklisted_members_get_no_credit_day_coupon(client, aws):
    api = Api(client)
    move_to(api, 1)
    lapsed = api.member("lap:760")
    move_to(api, 8, months_ahead=1)  # more than 30 days later: the snapshot has lapsed
    black = api.member("blk:760")
    aws.table.update(f"MEMBER#{member_id(api, black)}", "MEMBER", "SET blacklisted = :t", values={":t": True})
    api.run_jobs()
    assert coupons_of(api, lapsed, "credit_day") == [] and coupons_of(api, black, "credit_day") == []


# -- listing ---------------------------------------------------------------------------------


def test_coupons_need_a_member_session_and_show_only_the_members_own(client):
    api = Api(client)
    a, b = api.member("own1:720"), api.member("own2:610")
    assert api.get("/v1/coupons")[0] == 401
    assert api.call("GET", "/v1/coupons", headers={"Authorization": "Bearer local-admin-key"})[0] == 403
    ca, cb = coupons_of(api, a), coupons_of(api, b)
    assert {c["id"] for c in ca}.isdisjoint({c["id"] for c in cb})
    assert set(ca[0]) == {"id", "kind", "amount", "min_spend", "valid_from", "valid_until", "status"}
    assert coupons_of(api, api.sign_in("fresh")) == []


def test_the_list_is_one_query(client, aws):
    api = Api(client)
    token = api.member("qq:720")
    calls = []

    def count(model, **_):
        calls.append(model.name)

    aws.table.client.meta.events.register("before-call.dynamodb", count)
    try:
        coupons_of(api, token)
    finally:
        aws.table.client.meta.events.unregister("before-call.dynamodb", count)
    assert calls.count("Query") == 1 and "Scan" not in calls


def test_a_batch_racing_another_delivery_skips_what_it_wrote_and_never_resets_a_used_coupon(client, aws):
    """The transaction path after the batch read: a coupon written meanwhile fails its put and is dropped."""
    from chalicelib.services.marketing.coupons import coupon_key

    api = Api(client)
    move_to(api, 8)
    ids = [member_id(api, api.member(f"race{i}:760")) for i in range(3)]
    month = aws.clock.now().strftime("%Y-%m")
    grant = coupon_drops.credit_day_grant(aws, month, "gold")
    assert coupon_drops.issue(aws, grant, ids[:1]) == 1
    used = grant.coupon_id(ids[0])
    aws.table.update(*coupon_key(used), "SET #s = :u", names={"#s": "status"}, values={":u": "used"})
    assert coupon_drops._issue_chunk(aws, grant, ids) == 2  # as if the batch read had missed the first
    assert aws.table.get(*coupon_key(used))["status"] == "used"
    assert coupon_drops._issue_chunk(aws, grant, ids) == 0
    assert coupon_drops.issue(aws, grant, ids + ids) == 0
