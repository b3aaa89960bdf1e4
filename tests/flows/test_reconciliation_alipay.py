"""Daily bill reconciliation against the strict fake Alipay (key and certificate mode): the trade bill
(alipay.data.dataservice.bill.downloadurl.query -> a zip of the GBK business-detail CSV) matched with our
ledger of the same Beijing day; matched, mismatched, and a bill Alipay cannot serve. The fake records no
violation (the fixture asserts it)."""

from __future__ import annotations

from datetime import timedelta, timezone

from chalicelib.services.ops import reconciliation
from tests.flows.test_alipay_flows import _pay_later, active_rental, alipay, member, says  # noqa: F401 - fixture
from tests.helpers import Api
from tests.rental_helpers import DAY

BEIJING = timezone(timedelta(hours=8))


def _day_of_money(api: Api, gw, client, aws) -> tuple[str, dict, dict]:  # type: ignore[no-untyped-def]
    """A pay-later order charged (withheld) and partly refunded, and a live rental's deduction (a pre-auth
    trade), all on one Beijing day; returns that day."""
    token, order = _pay_later(api, gw, client, "2088000000000951")
    api.advance(7 * DAY)
    api.run_jobs()
    (pay,) = gw.bizs("alipay.trade.pay")
    assert says(client, gw.settle_trade(pay["out_trade_no"])) == b"success"
    assert api.post(f"/v1/orders/{order['id']}/refund", {"amount": 2_000}, token=token)[0] == 200
    renter = member(api, gw, "2088000000000952", 720)
    rental = active_rental(api, gw, client, renter, "2088000000000952")
    status, _ = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/deductions", {"amount": 700, "reason": "scratch"})
    assert status in (200, 201)
    day = aws.clock.now().astimezone(BEIJING).date().isoformat()
    api.advance(2 * DAY)  # the bill of a day is served from the next day on (T+1)
    return day, order, rental


def _alipay_report(api: Api, day: str) -> dict:
    status, out = api.admin("GET", f"/v1/admin/reconciliation?date={day}")
    assert status == 200, out
    (found,) = [p for p in out["providers"] if p["provider"] == "alipay"]
    return found


def test_an_alipay_day_matches_line_by_line(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order, rental = _day_of_money(api, alipay, client, aws)
    report = reconciliation.reconcile(aws, "alipay", day)
    assert (report["status"], report["matched"]) == ("matched", 3), report
    assert _alipay_report(api, day)["status"] == "matched"
    (query,) = alipay.bizs("alipay.data.dataservice.bill.downloadurl.query")[-1:]
    assert query == {"bill_type": "trade", "bill_date": day}


def test_an_alipay_day_with_every_kind_of_mismatch(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order, rental = _day_of_money(api, alipay, client, aws)
    charge_no, refund_no = f"{order['id']}_charge1", f"{order['id']}_rfd1"
    alipay.trades[charge_no]["total_amount"] = "98.00"  # Alipay took 1 yuan less than we recorded
    refund_key = next(k for k, r in alipay.refunds.items() if r["out_request_no"] == refund_no)
    del alipay.refunds[refund_key]  # a refund Alipay never paid
    stray = dict(alipay.trades[f"{rental['id']}_ded1"])
    alipay.trades["ord_ffff_charge1"] = {**stray, "trade_no": "2026999999999999", "total_amount": "5.00"}

    report = reconciliation.reconcile(aws, "alipay", day)
    assert report["status"] == "mismatched" and report["matched"] == 1
    assert report["amount_mismatch"] == [
        {"out_request_no": charge_no, "kind": "charge", "provider_amount": 9_800, "our_amount": 9_900}
    ]
    assert report["only_provider"] == [{"out_request_no": "ord_ffff_charge1", "kind": "charge", "amount": 500}]
    assert report["only_ours"] == [{"out_request_no": refund_no, "kind": "refund", "amount": 2_000}]
    assert reconciliation.reconcile(aws, "alipay", day) == report  # a rerun: the same report
    alerts = list(aws.table.query("pk = :p", {":p": f"AUDIT#reconciliation#alipay_{day}"}))
    assert [a["event_type"] for a in alerts] == ["reconciliation.mismatched"]


def test_an_alipay_bill_not_generated_yet_is_unavailable(alipay, client, aws) -> None:  # noqa: F811
    api = Api(client)
    member(api, alipay, "2088000000000953", 720)
    today = aws.clock.now().astimezone(BEIJING).date().isoformat()
    report = reconciliation.reconcile(aws, "alipay", today)  # T+1: today's bill does not exist yet
    assert report["status"] == "unavailable" and "isp.bill_not_exist" in report["reason"]
    alipay.down.add("alipay.data.dataservice.bill.downloadurl.query")
    yesterday = (aws.clock.now().astimezone(BEIJING) - timedelta(days=1)).date().isoformat()
    assert reconciliation.reconcile(aws, "alipay", yesterday)["status"] == "unavailable"
    assert _alipay_report(api, yesterday)["status"] == "unavailable"
