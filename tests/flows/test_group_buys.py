"""Credit group-buys over HTTP (PRODUCT.md 6, API.md 'Group-buys and referrals'): teams fill or fail,
every abuse rule, and a failed team charges nothing and gives the exposure back."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from chalicelib.services.growth.teams import team_key
from tests.flows import money
from tests.helpers import Api

HOUR, DAY = 3600, 86400


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock")[1]["now"].replace("Z", "+00:00"))


def _group_buy(api: Api, **extra) -> dict:
    now = _now(api)
    body = {
        "product_id": "tea-gift-box",
        "title": "Half price when 40 join",
        "price": 10_000,
        "group_price": 5_000,
        "team_size": 40,
        "per_member_limit": 10,
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
        "scenario": "books",
        **extra,
    }
    status, out = api.admin("POST", "/v1/admin/group-buys", body)
    assert status == 201, out
    return out


def _members(api: Api, names: list[str], devices: bool = True) -> dict[str, str]:
    """Signed in and authorized, then a day older (accounts younger than 24 h cannot join)."""
    tokens = {n: api.member(f"{n}:720", device_id=f"dev-{n}" if devices else None) for n in names}
    api.advance(DAY + 60)
    return tokens


def _open(api: Api, token: str, gb: dict, **body) -> tuple[int, dict]:
    return api.post(f"/v1/group-buys/{gb['id']}/teams", body, token=token)


def _join(api: Api, token: str, code: str, **body) -> tuple[int, dict]:
    return api.post(f"/v1/teams/{code}/join", body, token=token)


def _order(api: Api, token: str, order_id: str) -> dict:
    return api.get(f"/v1/orders/{order_id}", token=token)[1]


def _exposure(api: Api, token: str) -> int:
    return api.get("/v1/me", token=token)[1]["exposure"]


def test_the_seeds_forty_people_half_price_team_fills_and_every_seat_proceeds(client, aws):
    api = Api(client)
    gb = _group_buy(api)
    tokens = _members(api, [f"gbm{i}" for i in range(40)])
    names = list(tokens)
    status, team = _open(api, tokens[names[0]], gb, quantity=10)
    assert status == 201, team
    assert (team["status"], team["size"], len(team["seats"])) == ("open", 40, 1)
    leader_order = _order(api, tokens[names[0]], team["seats"][0]["order_id"])
    assert (leader_order["amount"], leader_order["status"], leader_order["decision"]) == (
        50_000,
        "pending_charge",
        "approved",
    )
    code = team["share_code"]
    for name in names[1:-1]:
        status, out = _join(api, tokens[name], code.lower())  # share codes are case-insensitive
        assert status == 201, out
    assert api.get(f"/v1/teams/{code}", token=tokens[names[0]])[1]["status"] == "open"
    status, full = _join(api, tokens[names[-1]], code, quantity=2)
    assert status == 201 and full["status"] == "full" and len(full["seats"]) == 40
    api.run_jobs()
    status, out = _join(api, api.member("late:720"), code)
    assert (status, out["error"]["code"]) == (409, "team_closed")
    assert api.get(f"/v1/teams/{code}", token=tokens[names[1]])[1]["status"] == "full"
    # nothing charged yet: each seat is charged at its charge date, as any pay-later order
    assert money.charged(aws, leader_order["id"]) == 0
    api.advance(14 * DAY)
    api.run_jobs()
    charged = _order(api, tokens[names[0]], leader_order["id"])
    assert (charged["status"], charged["charged"]) == ("charged", 50_000)
    last = _order(api, tokens[names[-1]], full["seats"][-1]["order_id"])
    assert (last["status"], last["charged"]) == ("charged", 10_000)


def test_a_team_short_at_its_deadline_fails_cancels_every_seat_and_charges_nothing(client, aws):
    api = Api(client)
    gb = _group_buy(api, team_size=3, team_hours=2)
    tokens = _members(api, ["fa", "fb"])
    before = _exposure(api, tokens["fa"])
    _, team = _open(api, tokens["fa"], gb, quantity=2)
    assert _exposure(api, tokens["fa"]) == before + 10_000
    _, team = _join(api, tokens["fb"], team["share_code"])
    # fb leaves by cancelling the seat's order: the seat is free, nothing owed; then takes it again
    status, left = api.post(f"/v1/orders/{team['seats'][1]['order_id']}/cancel", {}, token=tokens["fb"])
    assert (status, left["status"], left["reason"]) == (200, "cancelled", "left_team")
    assert _exposure(api, tokens["fb"]) == before
    assert len(api.get(f"/v1/teams/{team['share_code']}", token=tokens["fa"])[1]["seats"]) == 1
    status, team = _join(api, tokens["fb"], team["share_code"])
    assert status == 201 and len(team["seats"]) == 2
    api.advance(2 * HOUR - 60)
    api.run_jobs()
    assert api.get(f"/v1/teams/{team['share_code']}", token=tokens["fa"])[1]["status"] == "open"
    api.advance(60)
    api.run_jobs()
    api.run_jobs()  # a rerun changes nothing
    after = api.get(f"/v1/teams/{team['share_code']}", token=tokens["fa"])[1]
    assert after["status"] == "failed"
    for seat, name in zip(after["seats"], ("fa", "fb"), strict=True):
        order = _order(api, tokens[name], seat["order_id"])
        assert (order["status"], order["reason"], order["charged"]) == ("cancelled", "team_failed", 0)
        assert money.ops(aws, seat["order_id"], "charge") == []
        assert _exposure(api, tokens[name]) == before
    _, metrics = api.admin("GET", "/v1/admin/metrics")
    row = next(r for r in metrics["group_buys"] if r["group_buy_id"] == gb["id"])
    assert (row["teams_opened"], row["teams_failed"], row["fill_rate"]) == (1, 1, 0.0)
    band = next(b for b in metrics["by_band"] if b["band"] == "700-749")
    assert band["teams_opened"] >= 1 and band["teams_failed"] >= 1
    api.advance(30 * DAY)
    api.run_jobs()
    assert money.charged(aws, after["seats"][0]["order_id"]) == 0
    # the member's lock is released: a new team on the same group-buy may be opened
    status, _ = _open(api, tokens["fa"], gb)
    assert status == 409 or status == 201  # 409 only when the group-buy ended meanwhile


def test_virtual_fill_completes_a_half_full_team_with_two_real_members(client):
    api = Api(client)
    gb = _group_buy(api, team_size=4, team_hours=1, virtual_fill=True)
    tokens = _members(api, ["va", "vb", "vc", "vd"])
    _, team = _open(api, tokens["va"], gb)
    _, team = _join(api, tokens["vb"], team["share_code"])
    _, alone = _open(api, tokens["vc"], gb)  # one real member only: fails even with virtual fill
    api.advance(HOUR)
    api.run_jobs()
    assert api.get(f"/v1/teams/{team['share_code']}", token=tokens["va"])[1]["status"] == "virtual_full"
    assert api.get(f"/v1/teams/{alone['share_code']}", token=tokens["vc"])[1]["status"] == "failed"
    for seat, name in zip(team["seats"], ("va", "vb"), strict=True):
        assert _order(api, tokens[name], seat["order_id"])["status"] == "pending_charge"
    assert _order(api, tokens["vc"], alone["seats"][0]["order_id"])["reason"] == "team_failed"


def test_join_refusals_name_the_rule(client):
    api = Api(client)
    gb = _group_buy(api, team_size=5)
    tokens = _members(api, ["ra", "rb", "rc", "blk"])
    _, team = _open(api, tokens["ra"], gb)
    code = team["share_code"]
    assert _join(api, tokens["ra"], code)[1]["error"]["code"] == "own_team"
    assert _join(api, tokens["rb"], code)[0] == 201
    assert _join(api, tokens["rb"], code)[1]["error"]["code"] == "already_in_team"
    # another member on a device already seated in the team
    assert _join(api, tokens["rc"], code, device_id="dev-rb")[1]["error"]["code"] == "device_in_team"
    # one open team per member per group-buy: rb already sits in an open team of this group-buy
    assert _open(api, tokens["rb"], gb)[1]["error"]["code"] == "already_in_team"
    # a member younger than 24 h
    young = api.member("young:720", device_id="dev-young")
    status, out = _join(api, young, code)
    assert (status, out["error"]["code"]) == (403, "forbidden")
    # a blacklisted member
    member_id = api.get("/v1/me", token=tokens["blk"])[1]["member_id"]
    assert api.admin("PUT", f"/v1/admin/blacklist/{member_id}", {"reason": "fraud"})[0] == 200
    status, out = _join(api, tokens["blk"], code)
    assert (status, out["error"]["code"]) == (403, "forbidden")
    # unknown code, bad quantity
    assert _join(api, tokens["rc"], "ZZZZZZZZZZ")[0] == 404
    status, out = _join(api, tokens["rc"], code, quantity=11)
    assert (status, out["error"]["field"]) == (400, "quantity")


def test_a_rejected_leader_gets_409_rejected_and_nothing_is_written(client, aws):
    api = Api(client)
    gb = _group_buy(api, price=20_000_000, group_price=10_000_000, team_size=2)  # over any credit limit
    tokens = _members(api, ["rj"])
    status, out = _open(api, tokens["rj"], gb)
    assert (status, out["error"]["code"]) == (409, "rejected")
    assert api.get("/v1/orders", token=tokens["rj"])[1]["items"] == []
    assert _exposure(api, tokens["rj"]) == 0


def test_three_joins_from_one_device_within_an_hour_go_to_review(client):
    api = Api(client)
    gb = _group_buy(api, team_size=2)
    leaders = _members(api, ["dl1", "dl2", "dl3"])
    joiners = {n: api.member(f"{n}:720") for n in ("dj1", "dj2", "dj3")}
    api.advance(DAY + 60)
    decisions = []
    for leader, joiner in zip(leaders.values(), joiners.values(), strict=True):
        _, team = _open(api, leader, gb)
        status, out = _join(api, joiner, team["share_code"], device_id="shared-phone")
        assert status == 201, out
        decisions.append(_order(api, joiner, out["seats"][1]["order_id"])["decision"])
    assert decisions == ["approved", "approved", "review"]
    _, reviews = api.admin("GET", "/v1/admin/reviews?status=pending")
    assert any(r["rule"] == "group_buy_device_joins" for r in reviews["items"])
    # an hour later the device's window is clear again (a fresh group-buy: the others have ended)
    api.advance(HOUR)
    gb2 = _group_buy(api, team_size=2)
    _, team = _open(api, leaders["dl1"], gb2)
    _, out = _join(api, joiners["dj1"], team["share_code"], device_id="shared-phone")
    assert _order(api, joiners["dj1"], out["seats"][1]["order_id"])["decision"] == "approved"


def test_many_members_joining_one_team_at_once_never_exceed_its_size(client, aws):
    api = Api(client)
    gb = _group_buy(api, team_size=5)
    tokens = _members(api, [f"cc{i}" for i in range(12)])
    names = list(tokens)
    _, team = _open(api, tokens[names[0]], gb)
    results: list[tuple[int, dict]] = []
    barrier = threading.Barrier(len(names) - 1)

    def join(name: str) -> None:
        barrier.wait()
        results.append(_join(api, tokens[name], team["share_code"]))

    threads = [threading.Thread(target=join, args=(n,)) for n in names[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [out for status, out in results if status == 201]
    lost = {out["error"]["code"] for status, out in results if status != 201}
    assert len(won) == 4 and lost <= {"team_full", "team_closed", "conflict"}
    item = aws.table.get(*team_key(team["share_code"]))
    assert int(item["seats"]) == 5 and len(item["members"]) == 5 and len(item["seat_orders"]) == 5


def test_a_repeated_join_with_the_same_idempotency_key_takes_one_seat(client, aws):
    api = Api(client)
    gb = _group_buy(api, team_size=3)
    tokens = _members(api, ["ia", "ib"])
    _, team = _open(api, tokens["ia"], gb)
    first = api.post(f"/v1/teams/{team['share_code']}/join", {}, token=tokens["ib"], key="join-once")
    again = api.post(f"/v1/teams/{team['share_code']}/join", {}, token=tokens["ib"], key="join-once")
    assert first == again and first[0] == 201
    item = aws.table.get(*team_key(team["share_code"]))
    assert int(item["seats"]) == 2
    assert len(api.get("/v1/orders", token=tokens["ib"])[1]["items"]) == 1
