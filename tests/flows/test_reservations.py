"""0-yuan reservations: tier then time, 3 days to convert, then the place passes on."""

from __future__ import annotations

from tests.helpers import Api

DAY = 86400


def _reserve(api: Api, token: str, product: str = "phone-x") -> dict:
    status, out = api.post("/v1/reservations", {"product_id": product}, token=token)
    assert status == 201, out
    return out


def _get(api: Api, token: str, rid: str) -> dict:
    return api.get(f"/v1/reservations/{rid}", token=token)[1]


def test_only_silver_and_gold_reserve_once_each(client):
    api = Api(client)
    normal = api.member("ann:660")
    status, err = api.post("/v1/reservations", {"product_id": "phone-x"}, token=normal)
    assert (status, err["error"]["code"]) == (403, "tier_not_eligible")
    silver = api.member("bob:720")
    first = _reserve(api, silver)
    assert (first["status"], first["position"]) == ("waiting", 1)
    status, err = api.post("/v1/reservations", {"product_id": "phone-x"}, token=silver)
    assert (status, err["error"]["code"]) == (409, "already_reserved")
    assert api.post("/v1/reservations", {}, token=silver)[1]["error"]["field"] == "product_id"
    assert api.get(f"/v1/reservations/{first['id']}", token=api.member("cat:720"))[0] == 404


def test_places_go_by_tier_then_time_and_lapse_to_the_next(client):
    api = Api(client)
    s1, s2, g1, g2 = (api.member(c) for c in ("s1:720", "s2:730", "g1:760", "g2:800"))
    r_s1 = _reserve(api, s1)
    api.advance(60)
    r_s2 = _reserve(api, s2)
    api.advance(60)
    r_g1 = _reserve(api, g1)
    assert r_g1["position"] == 1  # gold goes ahead of earlier silver
    api.advance(60)
    r_g2 = _reserve(api, g2)
    assert [_get(api, t, r["id"])["position"] for t, r in ((g1, r_g1), (g2, r_g2), (s1, r_s1), (s2, r_s2))] == [
        1,
        2,
        3,
        4,
    ]
    assert api.post("/v1/admin/products/phone-x/stock", {"quantity": 2})[0] == 401
    status, out = api.admin("POST", "/v1/admin/products/phone-x/stock", {"quantity": 3})
    assert (status, out["offered"], out["available"]) == (200, 3, 0)
    assert [_get(api, t, r["id"])["status"] for t, r in ((g1, r_g1), (g2, r_g2), (s1, r_s1), (s2, r_s2))] == [
        "offered",
        "offered",
        "offered",
        "waiting",
    ]
    assert _get(api, s2, r_s2["id"])["position"] == 1
    status, out = api.post(f"/v1/reservations/{r_g1['id']}/convert", token=g1)
    assert (status, out["status"]) == (200, "converted")
    api.advance(2 * DAY)
    assert api.post(f"/v1/reservations/{r_g2['id']}/convert", token=g2)[1]["status"] == "converted"
    api.advance(DAY - 120)
    api.run_jobs()
    assert _get(api, s1, r_s1["id"])["status"] == "offered"  # not yet 3 days
    api.advance(180)
    api.run_jobs()
    api.run_jobs()
    assert _get(api, s1, r_s1["id"])["status"] == "expired"
    assert _get(api, s2, r_s2["id"])["status"] == "offered"  # the place passed on
    status, err = api.post(f"/v1/reservations/{r_s1['id']}/convert", token=s1)
    assert (status, err["error"]["code"]) == (409, "invalid_state")
    api.advance(3 * DAY + 60)
    api.run_jobs()
    assert _get(api, s2, r_s2["id"])["status"] == "expired"
    assert api.admin("POST", "/v1/admin/products/phone-x/stock", {"quantity": 1})[1]["available"] == 2


def test_stock_with_a_bad_quantity_is_a_400(client):
    api = Api(client)
    for q in (0, -1, "3"):
        status, err = api.admin("POST", "/v1/admin/products/p/stock", {"quantity": q})
        assert (status, err["error"]["field"]) == (400, "quantity")


def test_duplicate_expiry_messages_and_concurrent_stock_never_offer_a_place_twice(client, aws):
    import threading

    from chalicelib.services.orders import reservations

    api = Api(client)
    tokens = [api.member(c) for c in ("ga:760", "gb:770", "sa:720", "sb:730")]
    held = []
    for t in tokens:
        held.append(_reserve(api, t, "tab-1"))
        api.advance(60)
    answers: list[tuple[int, dict]] = []
    barrier = threading.Barrier(2)

    def add_one() -> None:
        barrier.wait()
        answers.append(api.admin("POST", "/v1/admin/products/tab-1/stock", {"quantity": 1}))

    threads = [threading.Thread(target=add_one) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(status for status, _ in answers) == [200, 200]
    assert sum(out["offered"] for _, out in answers) == 2
    statuses = [_get(api, t, r["id"])["status"] for t, r in zip(tokens, held, strict=False)]
    assert statuses == ["offered", "offered", "waiting", "waiting"]
    assert aws.table.get(*reservations.stock_key("tab-1"))["available"] == 0
    api.advance(3 * DAY + 60)
    for r in held[:2]:
        for _ in range(3):
            aws.queues.send("reservation-timers", {"pk": f"RESERVATION#{r['id']}", "sk": "RESERVATION"})
    api.run_jobs()
    api.run_jobs()
    statuses = [_get(api, t, r["id"])["status"] for t, r in zip(tokens, held, strict=False)]
    assert statuses == ["expired", "expired", "offered", "offered"]
    assert aws.table.get(*reservations.stock_key("tab-1"))["available"] == 0


def test_more_places_than_one_transaction_holds_are_all_offered_after_the_stock_commits(client, aws, monkeypatch):
    from chalicelib.services.orders import reservations

    monkeypatch.setattr(reservations, "MAX_OFFERS", 1)  # one offer rides with the stock, the rest follow
    api = Api(client)
    tokens = [api.member(c) for c in ("ova:760", "ovb:720", "ovc:730")]
    held = []
    for t in tokens:
        held.append(_reserve(api, t, "tab-2"))
        api.advance(60)
    status, out = api.admin("POST", "/v1/admin/products/tab-2/stock", {"quantity": 3})
    assert (status, out["offered"], out["available"]) == (200, 1, 2)  # what its own transaction offered
    assert [_get(api, t, r["id"])["status"] for t, r in zip(tokens, held, strict=True)] == ["offered"] * 3
    stock = aws.table.get(*reservations.stock_key("tab-2"))
    assert (stock["available"], stock["received"]) == (0, 3)
