"""Credit trials: gold only, limited slots, deposit-free freeze, rent 0, slot back on return."""

from __future__ import annotations

from tests.helpers import ADMIN, Api

DAY = 86400


def _slots(api: Api, product: str, n: int) -> dict:
    status, out = api.admin("POST", f"/v1/admin/products/{product}/trial-slots", {"slots": n})
    assert status == 200, out
    return out


def _trial(api: Api, token: str, product: str = "watch-9", value: int = 200_000) -> tuple[int, dict]:
    return api.post("/v1/trials", {"product_id": product, "item_value": value, "days": 7}, token=token)


def test_a_gold_member_trials_a_product_for_free_and_gives_it_back(client, aws):
    api = Api(client)
    gold, other, silver = api.member("ana:780"), api.member("bob:790"), api.member("cid:720")
    assert _slots(api, "watch-9", 1)["available"] == 1
    status, err = _trial(api, silver)
    assert (status, err["error"]["code"]) == (403, "tier_not_eligible")
    status, trial = _trial(api, gold)
    assert (status, trial["status"], trial["rent"]) == (201, "pending_freeze", 0)
    assert api.get("/v1/me", token=gold)[1]["exposure"] == 200_000
    status, err = _trial(api, other)
    assert (status, err["error"]["code"]) == (409, "no_trial_slots")
    assert api.get("/v1/me", token=other)[1]["exposure"] == 0
    api.run_jobs()
    api.run_jobs()
    assert api.get(f"/v1/trials/{trial['id']}", token=gold)[1]["status"] == "active"
    assert aws.table.get(f"SBX#op#{trial['id']}_freeze", "OP")["amount"] == 200_000
    assert api.get(f"/v1/trials/{trial['id']}", token=other)[0] == 404
    status, out = api.post(f"/v1/trials/{trial['id']}/return", token=gold)
    assert (status, out["status"]) == (200, "returned")
    assert aws.table.get(f"SBX#op#{trial['id']}_release", "OP")["amount"] == 200_000
    assert api.get("/v1/me", token=gold)[1]["exposure"] == 0
    assert api.post(f"/v1/trials/{trial['id']}/return", token=gold)[0] == 409
    status, again = _trial(api, other)  # the slot came back
    assert status == 201 and again["status"] == "pending_freeze"
    assert _trial(api, gold)[1]["error"]["code"] == "already_trialled"


def test_a_refused_freeze_gives_the_slot_and_the_credit_back(client):
    api = Api(client)
    token = api.member("dan:780:freeze_fails")
    _slots(api, "cam-2", 1)
    trial = _trial(api, token, "cam-2")[1]
    api.run_jobs()
    assert api.get(f"/v1/trials/{trial['id']}", token=token)[1]["status"] == "rejected"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
    assert _trial(api, api.member("eva:780"), "cam-2")[0] == 201


def test_a_trial_not_returned_in_time_is_overdue(client):
    api = Api(client)
    token = api.member("fox:780")
    _slots(api, "pad-1", 2)
    trial = _trial(api, token, "pad-1")[1]
    api.run_jobs()
    api.advance(7 * DAY + 60)
    api.run_jobs()
    assert api.get(f"/v1/trials/{trial['id']}", token=token)[1]["status"] == "overdue"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 200_000
    assert api.post(f"/v1/trials/{trial['id']}/return", token=token)[1]["status"] == "returned"
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_bad_trials_get_a_400(client):
    api = Api(client)
    token = api.member("gus:780")
    for body, field in [
        ({"days": 0}, "days"),
        ({"days": 31}, "days"),
        ({"item_value": 0}, "item_value"),
        ({"product_id": ""}, "product_id"),
    ]:
        status, err = api.post("/v1/trials", {"product_id": "x", "item_value": 100, "days": 7, **body}, token=token)
        assert (status, err["error"]["field"]) == (400, field)
    assert api.admin("POST", "/v1/admin/products/x/trial-slots", {"slots": 0})[0] == 400


def test_opening_slots_twice_with_one_idempotency_key_opens_them_once(client, aws):
    api = Api(client)
    path, admin = "/v1/admin/products/lamp-2/trial-slots", dict(ADMIN)
    first = api.call("POST", path, {"slots": 2}, key="slots-1", headers=admin)
    again = api.call("POST", path, {"slots": 2}, key="slots-1", headers=admin)  # the operator's retry
    assert first == again == (200, {"product_id": "lamp-2", "available": 2})
    assert api.call("POST", path, {"slots": 3}, key="slots-2", headers=admin) == (
        200,
        {"product_id": "lamp-2", "available": 5},
    )
    slots = aws.table.get("PRODUCT#lamp-2", "TRIAL_SLOTS")
    assert (slots["available"], slots["total"]) == (5, 5)
    opened = [
        e for e in aws.table.query("pk = :p", {":p": "AUDIT#product#lamp-2"}) if e["action"] == "trial_slots_added"
    ]
    assert len(opened) == 2  # one per key, never one per delivery
