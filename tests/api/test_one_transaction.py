"""One owner of each transaction: a POST route's Idempotency-Key rides in the transaction of its state change.

The runner (api/routing.py) stages the key into the unit of work a route returns (`Staged`) and commits once.
A route whose service committed its own change and returned a plain value had the key saved alone afterwards:
a crash in between left a change without its key, and the client's retry then met the changed state instead of
the first answer. A flow with a provider call in the middle commits its earlier steps as intents (stable request
numbers, finished by a worker or by the retry); the last, money-moving step carries the key.

Writes are counted with a botocore hook on the table's client; the sandbox provider's ledger (SBX#) and the
sandbox clock live in the same table and are not the app's writes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, get_type_hints

import pytest

from chalicelib.clock import iso, parse_iso
from chalicelib.services.orders import reservations
from chalicelib.services.orders.orders import order_key
from chalicelib.services.rentals import trials
from tests.flows import money
from tests.helpers import ADMIN, Api

HOUR = 3600
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
NOT_THE_APPS = ("SBX#", "CLOCK")

# POST routes that answer without a unit of work to commit, and why.
PLAIN_POST_ROUTES = {
    "/v1/callbacks/sandbox": "a provider notification: no Idempotency-Key; services/callbacks.handle commits it",
    "/v1/callbacks/alipay": "a provider notification: no Idempotency-Key; services/callbacks.handle commits it",
    "/v1/callbacks/wechat": "a provider notification: no Idempotency-Key; services/callbacks.handle commits it",
    "/v1/sandbox/clock": "sandbox only: moves the test clock (no business state)",
    "/v1/sandbox/jobs/run": "sandbox only: runs the sweeps and workers, which own their transactions",
}


class Crash(Exception):
    """The process dies at this write (a Lambda timeout, a lost connection)."""


class Writes:
    """Every DynamoDB write the app makes through the table's client, as the pks each one writes; optionally
    crashes the first write that carries an Idempotency-Key record."""

    def __init__(self, client: Any) -> None:
        self.log: list[tuple[str, list[str]]] = []
        self.crash_on_key = False
        self._client = client
        client.meta.events.register("before-parameter-build.dynamodb", self._seen)

    def close(self) -> None:
        self._client.meta.events.unregister("before-parameter-build.dynamodb", self._seen)

    def _seen(self, params: dict, model: Any, **_: Any) -> None:
        if model.name not in WRITES:
            return
        pks = _pks(model.name, params)
        if all(pk.startswith(NOT_THE_APPS) for pk in pks):
            return
        if self.crash_on_key and any(pk.startswith("IDEM#") for pk in pks):
            self.crash_on_key = False
            raise Crash("crashed at the write carrying the Idempotency-Key")
        self.log.append((model.name, pks))

    def reset(self) -> None:
        self.log.clear()


def _pks(op: str, params: dict) -> list[str]:
    if op == "TransactWriteItems":
        return [_pk(item) for item in params["TransactItems"]]
    if op == "BatchWriteItem":
        return [_pk(r) for rs in params["RequestItems"].values() for r in rs]
    return [_pk_of(params)]


def _pk(item: dict) -> str:
    ((_, body),) = item.items()
    return _pk_of(body)


def _pk_of(body: dict) -> str:
    pk = (body.get("Item") or body.get("Key"))["pk"]
    return pk["S"] if isinstance(pk, dict) else pk


@pytest.fixture
def writes(aws):
    w = Writes(aws.table.client)
    yield w
    w.close()


def _post(client: Any, path: str, body: Any, key: str, token: str | None = None, admin: bool = False) -> tuple:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if admin:
        headers.update(ADMIN)
    r = client.http.request("POST", path, headers=headers, body=json.dumps(body).encode())
    text = r.body.decode() if r.body else ""
    return r.status_code, (json.loads(text) if text.startswith("{") else text), r.headers.get("Idempotent-Replayed")


def _one_transaction(writes: Writes, intents: list[str], changed: list[str]) -> None:
    """The request's writes were the `intents` (one write each, on those pks, before any provider answer was
    recorded) and then ONE TransactWriteItems carrying the key record and every pk of `changed`."""
    *before, last = writes.log
    assert [[pk for pk in pks if not pk.startswith("AUDIT#")] for _, pks in before] == [[pk] for pk in intents], (
        writes.log
    )
    op, pks = last
    assert op == "TransactWriteItems", writes.log
    assert sum(pk.startswith("IDEM#") for pk in pks) == 1, writes.log
    assert set(changed) <= set(pks), writes.log


# -- the route table ---------------------------------------------------------------------------------------


def test_every_post_route_hands_its_writes_to_the_runner(client):
    """A POST route returns `Staged` (its unit of work, which the runner commits with the key), unless it is
    one of the few that carry no Idempotency-Key or no business state, each named with its reason."""
    from app import app
    from chalicelib.api.routing import ROUTES, Staged

    plain = []
    for spec in ROUTES:
        if spec.method != "POST":
            continue
        fn = app.routes[spec.path]["POST"].view_function.__wrapped__
        if get_type_hints(fn).get("return") is not Staged:
            plain.append(spec.path)
    assert sorted(plain) == sorted(PLAIN_POST_ROUTES)


# -- the converted routes: one transaction, and a crash at the key leaves nothing half-written ----------------


def _gold_trial(api: Api, aws: Any) -> tuple[str, dict]:
    token = api.member("ana:780")
    assert api.admin("POST", "/v1/admin/products/watch-9/trial-slots", {"slots": 1})[0] == 200
    status, trial = api.post("/v1/trials", {"product_id": "watch-9", "item_value": 200_000, "days": 7}, token=token)
    assert status == 201, trial
    api.run_jobs()
    api.run_jobs()
    assert api.get(f"/v1/trials/{trial['id']}", token=token)[1]["status"] == "active"
    return token, trial


def test_a_trial_return_records_the_release_and_its_key_in_one_transaction(client, aws, writes):
    api = Api(client)
    token, trial = _gold_trial(api, aws)
    writes.reset()
    status, out, _ = _post(client, f"/v1/trials/{trial['id']}/return", {}, "ret-1", token)
    assert (status, out["status"]) == (200, "returned")
    pk = trials.trial_key(trial["id"])[0]
    _one_transaction(writes, intents=[pk], changed=[pk, "PRODUCT#watch-9"])


def test_a_crash_at_the_trial_returns_key_leaves_it_returning_and_the_retry_finishes_it_once(client, aws, writes):
    api = Api(client)
    token, trial = _gold_trial(api, aws)
    path = f"/v1/trials/{trial['id']}/return"
    writes.crash_on_key = True
    assert _post(client, path, {}, "ret-1", token)[0] == 500
    assert api.get(f"/v1/trials/{trial['id']}", token=token)[1]["status"] == "returning"  # the claim only
    assert api.get("/v1/me", token=token)[1]["exposure"] == 200_000
    status, out, replayed = _post(client, path, {}, "ret-1", token)
    assert (status, out["status"], replayed) == (200, "returned", None)  # ran: no key had been kept
    assert _post(client, path, {}, "ret-1", token) == (200, out, "true")
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0
    assert int(aws.table.get(*trials.slots_key("watch-9"))["available"]) == 1  # given back once
    assert aws.table.get(f"SBX#op#{trial['id']}_release", "OP")["amount"] == 200_000


def _queue(api: Api, product: str, codes: tuple[str, ...]) -> list[tuple[str, dict]]:
    held = []
    for code in codes:
        token = api.member(code)
        status, out = api.post("/v1/reservations", {"product_id": product}, token=token)
        assert status == 201, out
        held.append((token, out))
        api.advance(60)
    return held


def test_stock_and_the_places_it_offers_are_one_transaction_with_the_key(client, aws, writes):
    api = Api(client)
    held = _queue(api, "phone-x", ("g1:760", "s1:720"))
    writes.reset()
    status, out, _ = _post(client, "/v1/admin/products/phone-x/stock", {"quantity": 3}, "stock-1", admin=True)
    assert (status, out["offered"], out["available"]) == (200, 2, 1)
    rsv = [reservations.reservation_key(r["id"])[0] for _, r in held]
    _one_transaction(writes, intents=[], changed=["PRODUCT#phone-x", *rsv])


def test_a_crash_at_the_stocks_key_writes_nothing_and_the_retry_adds_it_once(client, aws, writes):
    api = Api(client)
    (token, held), *_ = _queue(api, "phone-x", ("g1:760",))
    writes.crash_on_key = True
    assert _post(client, "/v1/admin/products/phone-x/stock", {"quantity": 2}, "stock-1", admin=True)[0] == 500
    assert aws.table.get(*reservations.stock_key("phone-x")) is None
    assert api.get(f"/v1/reservations/{held['id']}", token=token)[1]["status"] == "waiting"
    status, out, replayed = _post(client, "/v1/admin/products/phone-x/stock", {"quantity": 2}, "stock-1", admin=True)
    assert (status, out, replayed) == (200, {"product_id": "phone-x", "offered": 1, "available": 1}, None)
    assert _post(client, "/v1/admin/products/phone-x/stock", {"quantity": 2}, "stock-1", admin=True)[2] == "true"
    stock = aws.table.get(*reservations.stock_key("phone-x"))
    assert (stock["received"], stock["available"]) == (2, 1)


def _started_booking(api: Api, token: str) -> dict:
    now = parse_iso(api.get("/v1/sandbox/clock")[1]["now"])
    body = {"service_id": "spa-1", "starts_at": iso(now + timedelta(seconds=HOUR)), "price": 10_000}
    status, booking = api.post("/v1/bookings", body, token=token)
    assert status == 201, booking
    api.advance(2 * HOUR)
    return booking


def test_a_completed_booking_records_its_charge_and_the_key_in_one_transaction(client, aws, writes):
    api = Api(client)
    token = api.member("hu:720")
    booking = _started_booking(api, token)
    writes.reset()
    status, out, _ = _post(client, f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, "done-1", token)
    assert (status, out["status"], out["charged"]) == (200, "charged", 10_000)
    pk = f"BOOKING#{booking['id']}"
    _one_transaction(writes, intents=[pk, pk], changed=[pk])  # completed, then the charge claimed


def test_a_dispute_is_one_transaction_with_its_key(client, aws, writes):
    api = Api(client)
    token = api.member("hv:720")
    booking = _started_booking(api, token)
    writes.reset()
    status, out, _ = _post(client, f"/v1/bookings/{booking['id']}/complete", {"satisfied": False}, "no-1", token)
    assert (status, out["status"]) == (200, "disputed")
    _one_transaction(writes, intents=[], changed=[f"BOOKING#{booking['id']}"])


def test_a_crash_at_the_completions_key_is_finished_by_the_retry_with_one_charge(client, aws, writes):
    api = Api(client)
    token = api.member("hw:720")
    booking = _started_booking(api, token)
    path = f"/v1/bookings/{booking['id']}/complete"
    writes.crash_on_key = True
    assert _post(client, path, {"satisfied": True}, "done-1", token)[0] == 500
    assert aws.table.get(f"BOOKING#{booking['id']}", "BOOKING")["charge_state"] == "charging"  # not recorded
    status, out, replayed = _post(client, path, {"satisfied": True}, "done-1", token)
    assert (status, out["status"], out["charged"], replayed) == (200, "charged", 10_000, None)
    assert _post(client, path, {"satisfied": True}, "done-1", token) == (200, out, "true")
    api.run_jobs()
    assert money.paid(aws, booking["id"]) == 10_000 and len(money.ops(aws, booking["id"], "charge")) == 1
    assert api.get(f"/v1/bookings/{booking['id']}", token=token)[1]["charged"] == 10_000


def _order(api: Api, token: str) -> str:
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 201, out
    return out["id"]


def test_a_confirmed_order_records_its_charge_and_the_key_in_one_transaction(client, aws, writes):
    api = Api(client)
    token = api.member("max:720")
    oid = _order(api, token)
    writes.reset()
    status, out, _ = _post(client, f"/v1/orders/{oid}/confirm", {}, "pay-1", token)
    assert (status, out["status"]) == (200, "charged")
    pk = order_key(oid)[0]
    _one_transaction(writes, intents=[pk], changed=[pk])  # the charge claimed, then recorded with the key


def test_a_crash_at_the_confirms_key_is_finished_by_the_retry_with_one_charge(client, aws, writes):
    api = Api(client)
    token = api.member("may:720")
    oid = _order(api, token)
    path = f"/v1/orders/{oid}/confirm"
    writes.crash_on_key = True
    assert _post(client, path, {}, "pay-1", token)[0] == 500
    assert aws.table.get(*order_key(oid))["charge_state"] == "charging"
    status, out, replayed = _post(client, path, {}, "pay-1", token)
    assert (status, out["status"], replayed) == (200, "charged", None)
    assert _post(client, path, {}, "pay-1", token) == (200, out, "true")
    assert money.paid(aws, oid) == 10_000 and len(money.ops(aws, oid, "charge")) == 1
    assert aws.table.get(*order_key(oid))["charged"] == 10_000


def test_a_refund_records_the_money_and_the_key_in_one_transaction(client, aws, writes):
    api = Api(client)
    token = api.member("pia:720")
    oid = _order(api, token)
    assert api.post(f"/v1/orders/{oid}/confirm", token=token)[1]["status"] == "charged"
    writes.reset()
    status, out, _ = _post(client, f"/v1/orders/{oid}/refund", {"amount": 4_000}, "back-1", token)
    assert (status, out["status"], out["refunded"]) == (200, "partially_refunded", 4_000)
    pk = order_key(oid)[0]
    _one_transaction(writes, intents=[pk], changed=[pk])  # the refund claimed, then recorded with the key


def test_a_crash_at_the_refunds_key_is_finished_by_the_retry_paying_back_once(client, aws, writes):
    api = Api(client)
    token = api.member("pib:720")
    oid = _order(api, token)
    assert api.post(f"/v1/orders/{oid}/confirm", token=token)[1]["status"] == "charged"
    path = f"/v1/orders/{oid}/refund"
    writes.crash_on_key = True
    assert _post(client, path, {"amount": 4_000}, "back-1", token)[0] == 500
    assert aws.table.get(*order_key(oid))["refund_pending"]["n"] == 1  # claimed, paid back, not recorded
    status, out, replayed = _post(client, path, {"amount": 4_000}, "back-1", token)
    assert (status, out["refunded"], replayed) == (200, 4_000, None)
    assert _post(client, path, {"amount": 4_000}, "back-1", token) == (200, out, "true")
    item = aws.table.get(*order_key(oid))
    assert (item["refunded"], item["refund_count"], item["status"]) == (4_000, 1, "partially_refunded")
    assert money.refunded(aws, oid) == 4_000 and len(money.ops(aws, oid, "rfd")) == 1


# -- journeys over the other POST routes: every one writes its change and its key in one transaction ---------


class Keyed:
    """Sends each POST with a fresh Idempotency-Key and checks the rule on the writes it made: any writes
    before the key's are provider intents (INTENT#, recorded before a provider call) or the pks the caller
    names; then ONE TransactWriteItems carries the key and a change; nothing after it but what is named."""

    def __init__(self, client: Any, writes: Writes) -> None:
        self.client, self.writes, self.n = client, writes, 0

    def post(
        self, path: str, body: Any = None, token: str | None = None, intents: tuple = (), after: int = 0
    ) -> tuple[int, Any]:
        self.n += 1
        self.writes.reset()
        status, out, _ = _post(self.client, path, {} if body is None else body, f"k{self.n}", token, token is None)
        assert status in (200, 201), (path, out)
        log = [(op, pks) for op, pks in self.writes.log]
        keyed = [i for i, (_, pks) in enumerate(log) if any(pk.startswith("IDEM#") for pk in pks)]
        assert len(keyed) == 1, (path, log)
        op, pks = log[keyed[0]]
        assert op == "TransactWriteItems" and any(not pk.startswith(("IDEM#", "AUDIT#")) for pk in pks), (path, log)
        before = [pk for _, p in log[: keyed[0]] for pk in p if not pk.startswith(("INTENT#", "AUDIT#"))]
        assert before == list(intents), (path, log)
        assert len(log) - keyed[0] - 1 == after, (path, log)
        return status, out


def test_sessions_credit_and_orders_write_each_change_with_its_key(client, aws, writes):
    keyed = Keyed(client, writes)
    _, session = keyed.post("/v1/sessions", {"provider": "sandbox", "code": "ola:720"})
    token = session["token"]
    keyed.post("/v1/credit/authorizations", token=token)
    body = {"kind": "pay_later", "scenario": "books", "amount": 10_000}
    _, first = keyed.post("/v1/orders", body, token=token)
    keyed.post(f"/v1/orders/{first['id']}/cancel", token=token)
    Api(client).advance(31 * 60)
    _, order = keyed.post("/v1/orders", body, token=token)
    pk = order_key(order["id"])[0]
    keyed.post(f"/v1/orders/{order['id']}/confirm", token=token, intents=(pk,))
    keyed.post(f"/v1/orders/{order['id']}/refund", {"amount": 1_000}, token=token, intents=(pk,))


def test_reservations_trials_and_bookings_write_each_change_with_its_key(client, aws, writes):
    api, keyed = Api(client), Keyed(client, writes)
    gold = api.member("gia:780")
    _, held = keyed.post("/v1/reservations", {"product_id": "phone-x"}, token=gold)
    keyed.post("/v1/admin/products/phone-x/stock", {"quantity": 1})
    keyed.post(f"/v1/reservations/{held['id']}/convert", token=gold)
    keyed.post("/v1/admin/products/watch-9/trial-slots", {"slots": 1})
    _, trial = keyed.post("/v1/trials", {"product_id": "watch-9", "item_value": 200_000, "days": 7}, token=gold)
    api.run_jobs()
    api.run_jobs()
    keyed.post(f"/v1/trials/{trial['id']}/return", token=gold, intents=(trials.trial_key(trial["id"])[0],))
    now = parse_iso(api.get("/v1/sandbox/clock")[1]["now"])
    body = {"service_id": "spa-1", "starts_at": iso(now + timedelta(seconds=HOUR)), "price": 10_000}
    member = api.member("hob:720")
    _, booking = keyed.post("/v1/bookings", body, token=member)
    keyed.post(f"/v1/bookings/{booking['id']}/cancel", token=member)
    _, booking = keyed.post("/v1/bookings", body, token=member)
    api.advance(2 * HOUR)
    pk = f"BOOKING#{booking['id']}"
    keyed.post(f"/v1/bookings/{booking['id']}/complete", {"satisfied": True}, token=member, intents=(pk, pk))


def test_rentals_write_each_change_with_its_key(client, aws, writes):
    api, keyed = Api(client), Keyed(client, writes)
    body = {"scenario": "books", "item_id": "book-1", "item_value": 50_000, "daily_rent": 500, "days": 7}
    tokens = [api.member(code) for code in ("ra:720", "rb:720", "rc:720")]
    made = [
        keyed.post("/v1/rentals", {**body, "scenario": s}, token=t)[1]
        for t, s in zip(tokens, ("books", "clothing", "books"), strict=True)
    ]
    api.run_jobs()
    first, second, third = (r["id"] for r in made)
    keyed.post(f"/v1/admin/rentals/{first}/deductions", {"amount": 700, "reason": "scratch"})
    keyed.post(f"/v1/rentals/{first}/renew", {"days": 2}, token=tokens[0])
    keyed.post(f"/v1/rentals/{third}/buyout", token=tokens[2], after=1)  # answers `closing`; settles after
    api.advance(2 * 86400 + 60)
    keyed.post(f"/v1/rentals/{first}/return", token=tokens[0])
    keyed.post(f"/v1/rentals/{second}/return", token=tokens[1])
    lines = {"lines": [{"name": "damage", "amount": 3_000}], "evidence": ["https://img.example.com/1.jpg"]}
    keyed.post(f"/v1/admin/rentals/{second}/damages", lines)
    api.advance(86400)
    api.run_jobs()
    assert api.get(f"/v1/rentals/{second}", token=tokens[1])[1]["status"] == "closed"
    keyed.post(f"/v1/rentals/{second}/disputes", {"reason": "it was like that"}, token=tokens[1])
    review = next(r for r in api.admin("GET", "/v1/admin/reviews?status=pending")[1]["items"] if second in r["ref_id"])
    keyed.post(f"/v1/admin/reviews/{review['id']}/approve", {"note": "upheld"}, after=1)  # then the refund


def test_growth_and_admin_routes_write_each_change_with_their_key(client, aws, writes):
    api, keyed = Api(client), Keyed(client, writes)
    keyed.post("/v1/admin/campaigns", {"tier": "gold", "amount": 2000, "min_spend": 5000, "valid_days": 14})
    now = parse_iso(api.get("/v1/sandbox/clock")[1]["now"])
    gb = {
        "product_id": "tea-gift-box",
        "title": "Half price when 3 join",
        "price": 10_000,
        "group_price": 5_000,
        "team_size": 3,
        "per_member_limit": 2,
        "starts_at": iso(now),
        "ends_at": iso(now + timedelta(days=10)),
        "scenario": "books",
    }
    _, group_buy = keyed.post("/v1/admin/group-buys", gb)
    lead, other = (api.member(f"{n}:720", device_id=f"dev-{n}") for n in ("gla", "glb"))
    api.advance(86400 + 60)
    _, team = keyed.post(f"/v1/group-buys/{group_buy['id']}/teams", {}, token=lead)
    keyed.post(f"/v1/teams/{team['share_code']}/join", {}, token=other)
    code = api.get("/v1/me/referral", token=lead)[1]["code"]
    newcomer = api.sign_in("glc:720", device_id="dev-glc")
    keyed.post("/v1/me/referral", {"code": code}, token=newcomer)
    _, hook = keyed.post("/v1/admin/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["credit.granted"]})
    keyed.post(f"/v1/admin/webhooks/{hook['id']}/rotate")


def test_a_provider_notification_moves_state_in_the_transaction_that_marks_it_handled(client, aws, writes):
    """No Idempotency-Key here: callbacks.handle owns the transaction, and its NOTIF marker is the dedupe."""
    api = Api(client)
    token = api.member("omar:720:freeze_fails")
    status, rental = api.post(
        "/v1/rentals",
        {"scenario": "books", "item_id": "book-1", "item_value": 50_000, "daily_rent": 500, "days": 7},
        token=token,
    )
    assert status == 201, rental
    raw = json.loads(aws.queues.receive("sandbox-notifications", max_messages=10)[0]["Body"])["body"].encode()
    headers = {"Content-Type": "application/json", **aws.provider("sandbox").signed_headers(raw)}
    writes.reset()
    assert client.http.post("/v1/callbacks/sandbox", headers=headers, body=raw).status_code == 200
    [(op, pks)] = writes.log
    assert op == "TransactWriteItems" and f"RENTAL#{rental['id']}" in pks, writes.log
    assert sum(pk.startswith("NOTIF#sandbox#") for pk in pks) == 1, writes.log
    assert api.get(f"/v1/rentals/{rental['id']}", token=token)[1]["status"] == "rejected"
