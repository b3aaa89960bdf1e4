"""Daily bill reconciliation against the sandbox: the sandbox's bill (its own ledger) matched line by line
with our ledger by request number; matched and mismatched days, reruns, an unavailable bill, the report
route over HTTP (admin auth, a bad date), the alert event."""

from __future__ import annotations

import pytest

from chalicelib.providers.base import BillUnavailable
from chalicelib.providers.sandbox import SandboxProvider
from chalicelib.services.ops import reconciliation
from tests.helpers import ADMIN, Api
from tests.rental_helpers import active_rental, rent

DAY = 86400


def _report(api: Api, day: str) -> dict:
    status, out = api.admin("GET", f"/v1/admin/reconciliation?date={day}")
    assert status == 200, out
    return out


def _sandbox(out: dict) -> dict:
    (found,) = [p for p in out["providers"] if p["provider"] == "sandbox"]
    return found


def _day_of_money(api: Api) -> tuple[str, dict, dict]:
    """A day with an order charged and partly refunded, and a rental's deduction; then the clock moves on."""
    token = api.member("rcn:720")
    day = api.get("/v1/sandbox/clock")[1]["now"][:10]
    status, order = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 201, order
    assert api.post(f"/v1/orders/{order['id']}/confirm", token=token)[0] == 200
    assert api.post(f"/v1/orders/{order['id']}/refund", {"amount": 3_000}, token=token)[0] == 200
    rental = active_rental(api, token)
    status, _ = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/deductions", {"amount": 700, "reason": "scratch"})
    assert status in (200, 201)
    return day, order, rental


def _alerts(aws, day: str) -> list[dict]:
    return list(aws.table.query("pk = :p", {":p": f"AUDIT#reconciliation#sandbox_{day}"}))


def test_a_day_of_charges_refunds_and_captures_matches(client, aws):
    api = Api(client)
    day, order, rental = _day_of_money(api)
    api.advance(DAY)
    api.run_jobs()

    report = _report(api, day)
    sandbox = _sandbox(report)
    assert report["date"] == day
    assert sandbox == {
        "provider": "sandbox",
        "status": "matched",
        "matched": 3,
        "only_provider": [],
        "only_ours": [],
        "amount_mismatch": [],
        "reason": None,
    }, sandbox
    assert [p["provider"] for p in report["providers"]] == ["sandbox"]  # alipay/wechat are not configured here
    assert _alerts(aws, day) == []


def test_an_amount_mismatch_a_line_only_the_provider_has_and_one_only_we_have(client, aws):
    api = Api(client)
    day, order, rental = _day_of_money(api)
    charge_no, refund_no, ded_no = f"{order['id']}_charge1", f"{order['id']}_rfd1", f"{rental['id']}_ded1"
    aws.table.update(f"SBX#op#{charge_no}", "OP", set={"amount": 9_990})  # the provider took less
    aws.table.delete(f"SBX#op#{refund_no}", "OP")  # a refund it never paid
    stray = aws.table.get(f"SBX#op#{ded_no}", "OP")
    aws.table.put({**stray, "pk": "SBX#op#ord_ffff_charge1", "list_sk": stray["list_sk"] + "x", "amount": 500})
    api.advance(DAY)
    api.run_jobs()

    sandbox = _sandbox(_report(api, day))
    assert sandbox["status"] == "mismatched" and sandbox["matched"] == 1
    assert sandbox["amount_mismatch"] == [
        {"out_request_no": charge_no, "kind": "charge", "provider_amount": 9_990, "our_amount": 10_000}
    ]
    assert sandbox["only_provider"] == [{"out_request_no": "ord_ffff_charge1", "kind": "capture", "amount": 500}]
    assert sandbox["only_ours"] == [{"out_request_no": refund_no, "kind": "refund", "amount": 3_000}]
    (alert,) = _alerts(aws, day)
    assert alert["event_type"] == "reconciliation.mismatched"
    assert alert["after"] == {
        "status": "mismatched",
        "matched": 1,
        "only_provider": 1,
        "only_ours": 1,
        "amount_mismatch": 1,
    }
    assert alert["data"] == {"date": day, "provider": "sandbox"}

    api.run_jobs()  # the job again the same day: the same report, no second alert
    assert _sandbox(_report(api, day)) == sandbox
    assert len(_alerts(aws, day)) == 1


def test_a_rerun_of_the_job_gives_the_same_report(client, aws):
    from chalicelib.jobs import reconciliation as job

    api = Api(client)
    day, _, _ = _day_of_money(api)
    first = job.reconciliation.reconcile(aws, "sandbox", day)
    again = job.reconciliation.reconcile(aws, "sandbox", day)
    assert first == again and first["status"] == "matched" and first["matched"] == 3
    items = list(aws.table.query("pk = :p", {":p": f"RECON#{day}"}))
    assert len(items) == 1 and items[0]["sk"] == "sandbox"


def test_a_bill_that_cannot_be_fetched_is_unavailable_and_never_hides_a_real_report(client, aws, monkeypatch):
    from chalicelib.services.ops import reconciliation

    api = Api(client)
    day, _, _ = _day_of_money(api)

    def down(self, day):
        raise BillUnavailable("bill not generated yet")

    monkeypatch.setattr(SandboxProvider, "bill", down)
    report = reconciliation.reconcile(aws, "sandbox", day)
    assert report["status"] == "unavailable"
    sandbox = _sandbox(_report(api, day))
    assert (sandbox["status"], sandbox["matched"], sandbox["reason"]) == ("unavailable", 0, "bill not generated yet")
    assert _alerts(aws, day) == []

    monkeypatch.undo()
    assert reconciliation.reconcile(aws, "sandbox", day)["status"] == "matched"
    monkeypatch.setattr(SandboxProvider, "bill", down)
    reconciliation.reconcile(aws, "sandbox", day)  # down again: the matched report stays
    assert _sandbox(_report(api, day))["status"] == "matched"


def test_the_daily_job_reconciles_the_previous_day_once_per_provider(client, aws):
    from chalicelib.jobs import reconciliation as job

    api = Api(client)
    day, _, _ = _day_of_money(api)
    api.advance(DAY)
    now = aws.clock.now()
    assert job.reconcile_bills(aws, now) == 4  # sandbox, alipay, wechat, wechat_payscore: unconfigured ones skip
    assert job.reconcile_one(aws, {"provider": "alipay", "day": day}) == "not_configured"
    assert job.reconcile_one(aws, {"provider": "sandbox", "day": day}) == "matched"


@pytest.mark.parametrize("query", ["", "?date=", "?date=2026-13-01", "?date=yesterday", "?date=2026-1-1"])
def test_the_report_route_refuses_a_bad_date_naming_it(client, aws, query):
    status, out = Api(client).admin("GET", f"/v1/admin/reconciliation{query}")
    assert status == 400, out
    assert out["error"]["code"] == "validation_error" and out["error"]["field"] == "date"


def test_the_report_route_needs_the_admin_key(client, aws):
    api = Api(client)
    assert api.get("/v1/admin/reconciliation?date=2026-03-01")[0] == 401
    member = api.member("rcx:720")
    assert api.get("/v1/admin/reconciliation?date=2026-03-01", token=member)[0] in (401, 403)
    status, out = api.call("GET", "/v1/admin/reconciliation?date=2026-03-01", headers=dict(ADMIN))
    assert (status, out) == (200, {"date": "2026-03-01", "providers": []})


def test_the_dashboard_shows_the_reconciliation_with_mismatches_first(client, aws):
    page = client.http.get("/admin").body.decode()
    assert 'id="reconciliation"' in page and "/v1/admin/reconciliation?date=" in page
    assert 'b.status === "mismatched"' in page  # mismatched days sort first, each difference listed


def test_a_sandbox_day_costs_a_query_per_ledger_shard_and_one_write_and_the_report_one(client, aws, monkeypatch):
    """The bill (one Query on the sandbox's day index), our ledger (one Query per shard of its day listing),
    one conditional write; the route: one Query. No Scan anywhere."""
    from chalicelib.services.ops import reconciliation

    api = Api(client)
    day, _, _ = _day_of_money(api)
    import threading

    from chalicelib.clock import FixedClock

    aws.clock = FixedClock(aws.clock.now())  # the sandbox clock re-reads its offset now and then: not ours
    calls: list[str] = []
    me = threading.get_ident()  # only this thread's requests (the local stack's pollers share the client)
    for name in ("query", "scan", "get_item", "put_item", "update_item", "transact_write_items", "batch_get_item"):
        real = getattr(aws.table.client, name)
        monkeypatch.setattr(
            aws.table.client,
            name,
            lambda *a, _real=real, _name=name, **kw: (
                (calls.append(_name) if threading.get_ident() == me else None) or _real(*a, **kw)
            ),
        )
    assert reconciliation.reconcile(aws, "sandbox", day)["status"] == "matched"
    from chalicelib.store.schema import shard_count

    assert sorted(calls) == ["query"] * (1 + shard_count()) + ["transact_write_items"]
    calls.clear()
    assert reconciliation.report(aws.table, day)["providers"][0]["matched"] == 3
    assert calls == ["query"]


def test_concurrent_runs_of_a_mismatched_day_raise_one_alert(client, aws):
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.services.ops import reconciliation
    from chalicelib.store.uow import Retry

    api = Api(client)
    day, order, _ = _day_of_money(api)
    aws.table.update(f"SBX#op#{order['id']}_charge1", "OP", set={"amount": 9_000})

    def run(_: int) -> str:
        for _attempt in range(5):
            try:
                return str(reconciliation.reconcile(aws, "sandbox", day)["status"])
            except Retry:  # a transaction conflict: the queue delivers the message again
                continue
        raise AssertionError("still conflicting after 5 deliveries")

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(run, range(4))) == {"mismatched"}
    assert len(_alerts(aws, day)) == 1
    assert _sandbox(_report(api, day))["amount_mismatch"][0]["provider_amount"] == 9_000


def test_a_mismatch_alert_reaches_the_merchants_webhook(client, aws):
    from tests.webhook_receiver import Receiver, verify

    api = Api(client)
    day, order, _ = _day_of_money(api)
    aws.table.update(f"SBX#op#{order['id']}_charge1", "OP", set={"amount": 9_000})
    with Receiver() as receiver:
        status, hook = api.admin("POST", "/v1/admin/webhooks", {"url": receiver.url, "events": ["reconciliation.*"]})
        assert status == 201, hook
        api.advance(DAY)
        api.run_jobs()
        api.run_jobs()  # the rerun: no second alert
        (event,) = receiver.events()
        got = receiver.received[0]
    assert verify(hook["secret"], got["headers"]["Creditfirst-Signature"], got["body"])
    assert event["type"] == "reconciliation.mismatched"
    assert event["data"]["data"] == {"date": day, "provider": "sandbox"}
    assert event["data"]["after"]["amount_mismatch"] == 1


def test_a_deposit_rental_closed_with_rent_matches_its_deposit_and_refund_alone(client, aws):
    """The rent a deposit keeps was paid with the deposit: the provider's bill has the deposit and the refund
    of the rest, and so does our ledger (it once also listed the kept rent as a capture: `only_ours` every day
    such a rental closed, and an alert)."""
    api = Api(client)
    token = api.member("rcd:620")
    status, rental = rent(api, token, scenario="clothing")
    assert status == 201 and rental["status"] == "awaiting_deposit", rental
    paid_on = api.get("/v1/sandbox/clock")[1]["now"][:10]
    api.run_jobs()  # the sandbox reports the deposit paid
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    api.advance(DAY + 60)  # clothing is inspected for 24 h, then the rental closes
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert (closed["status"], closed["deposit_amount"]) == (
        "closed",
        closed["rent_charged"] + closed["released_amount"],
    )
    assert closed["rent_charged"] > 0 and closed["released_amount"] > 0
    closed_on = api.get("/v1/sandbox/clock")[1]["now"][:10]
    api.advance(DAY)
    api.run_jobs()

    for day in (paid_on, closed_on):
        sandbox = _sandbox(_report(api, day))
        assert (sandbox["status"], sandbox["matched"], sandbox["only_ours"]) == ("matched", 1, []), (day, sandbox)
        assert _alerts(aws, day) == []


def test_damage_taken_at_close_and_a_deduction_taken_live_each_match_on_their_day(client, aws):
    """An operator's deduction is captured when made (the sandbox captures from a live freeze); recorded damage
    is taken at close, with the rent. Both are in our ledger on the day the provider moved them (the damage
    once was not: `only_provider` on the close day, an alert for every rental with damage)."""
    api = Api(client)
    token = api.member("rcg:720")
    rental = active_rental(api, token)
    damage = {"lines": [{"name": "cleaning", "amount": 300}], "evidence": ["https://e.example/1.jpg"]}
    assert api.admin("POST", f"/v1/admin/rentals/{rental['id']}/damages", damage)[0] == 201
    assert (
        api.admin("POST", f"/v1/admin/rentals/{rental['id']}/deductions", {"amount": 200, "reason": "scratch"})[0]
        == 201
    )
    deducted_on = api.get("/v1/sandbox/clock")[1]["now"][:10]
    assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    api.advance(4 * DAY)
    api.run_jobs()
    closed = api.get(f"/v1/rentals/{rental['id']}", token=token)[1]
    assert closed["status"] == "closed" and {"name": "cleaning", "amount": 300} in closed["lines"], closed
    closed_on = api.get("/v1/sandbox/clock")[1]["now"][:10]

    live = reconciliation.reconcile(aws, "sandbox", deducted_on)
    at_close = reconciliation.reconcile(aws, "sandbox", closed_on)
    assert (live["status"], live["matched"]) == ("matched", 1), live  # the deduction
    assert (at_close["status"], at_close["matched"]) == ("matched", 2), at_close  # the rent and the cleaning
