"""Daily bill reconciliation against the strict fake WeChat Pay: the trade bill (GET /v3/bill/tradebill ->
download_url, SHA1 of the uncompressed file, a gzip of backtick-prefixed CSV) matched with our ledger of the
same Beijing day; matched, mismatched, a day without trades, a file failing its hash, a bill not ready."""

from __future__ import annotations

import hashlib
from datetime import timedelta, timezone

from chalicelib.services.ops import reconciliation
from tests.flows.test_wechat_flows import _member, _order, _rental, gw, wechat  # noqa: F401 - fixtures
from tests.helpers import Api
from tests.rental_helpers import DAY

BEIJING = timezone(timedelta(hours=8))


def _day_of_money(api: Api, gw, client, aws) -> tuple[str, dict]:  # noqa: F811  # type: ignore[no-untyped-def]
    """A pay-later order completed, collected by Pay Score and partly refunded on one Beijing day."""
    token = _member(api, gw, client, "rc1")
    out, number = _order(api, gw, client, token, "rc1")
    api.advance(7 * DAY)
    api.run_jobs()
    gw.collect(number)
    assert gw.deliver(client) == [204]
    api.post(f"/v1/orders/{out['id']}/refund", {"amount": 2_000}, token=token)
    ((number_r, _),) = gw.refunds.items()
    gw.finish_refund(number_r, "SUCCESS")
    assert gw.deliver(client) == [204]
    day = aws.clock.now().astimezone(BEIJING).date().isoformat()
    api.advance(2 * DAY)
    return day, out


def test_a_wechat_day_matches_line_by_line(gw, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order = _day_of_money(api, gw, client, aws)
    report = reconciliation.reconcile(aws, "wechat", day)
    assert (report["status"], report["matched"]) == ("matched", 2), report
    (call,) = [c for c in gw.calls if c["path"] == "/v3/bill/tradebill"][-1:]
    assert call["query"] == {"bill_date": day, "bill_type": "ALL", "tar_type": "GZIP"}


def test_a_wechat_day_with_every_kind_of_mismatch(gw, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order = _day_of_money(api, gw, client, aws)
    ((tx_id, tx),) = [(k, t) for k, t in gw.transactions.items()]
    tx["total"] = 9_800  # WeChat collected 1 yuan less than we recorded
    ((number_r, refund),) = gw.refunds.items()
    refund["status"] = "PROCESSING"  # the refund did not complete that day at WeChat
    gw.transactions["4200999"] = {"total": 500, "out_trade_no": "ord_ffff_charge1", "refunded": 0, "at": tx["at"]}

    report = reconciliation.reconcile(aws, "wechat", day)
    assert report["status"] == "mismatched" and report["matched"] == 0
    assert report["amount_mismatch"] == [
        {"out_request_no": f"{order['id']}_charge1", "kind": "charge", "provider_amount": 9_800, "our_amount": 9_900}
    ]
    assert report["only_provider"] == [{"out_request_no": "ord_ffff_charge1", "kind": "charge", "amount": 500}]
    assert report["only_ours"] == [{"out_request_no": number_r, "kind": "refund", "amount": 2_000}]
    assert reconciliation.reconcile(aws, "wechat", day) == report


def test_a_wechat_day_without_trades_matches_an_empty_ledger(gw, client, aws) -> None:  # noqa: F811
    _member(Api(client), gw, client, "rc2")
    yesterday = (aws.clock.now().astimezone(BEIJING) - timedelta(days=1)).date().isoformat()
    report = reconciliation.reconcile(aws, "wechat", yesterday)  # NO_STATEMENT_EXIST: nothing that day
    assert (report["status"], report["matched"]) == ("matched", 0)


def test_a_wechat_bill_not_ready_or_failing_its_hash_is_unavailable(gw, client, aws, monkeypatch) -> None:  # noqa: F811
    api = Api(client)
    day, _ = _day_of_money(api, gw, client, aws)
    today = aws.clock.now().astimezone(BEIJING).date().isoformat()
    report = reconciliation.reconcile(aws, "wechat", today)
    assert report["status"] == "unavailable" and "STATEMENT_CREATING" in report["reason"]

    real = type(gw).trade_bill

    def tampered(self, query, body):  # type: ignore[no-untyped-def]
        status, out = real(self, query, body)
        return status, {**out, "hash_value": hashlib.sha1(b"another file").hexdigest()}  # noqa: S324

    monkeypatch.setattr(type(gw), "trade_bill", tampered)
    report = reconciliation.reconcile(aws, "wechat", day)
    assert report["status"] == "unavailable" and "SHA1" in report["reason"]


def test_a_rental_settled_as_one_pay_score_collection_matches_its_rent_and_deduction(gw, client, aws) -> None:  # noqa: F811
    """Pay Score takes the rent and an operator's deduction in one collection at completion: the bill's one
    line is split back into our two (recorded at settlement, not when the deduction was asked)."""
    api = Api(client)
    token = _member(api, gw, client, "rc3")
    out = _rental(api, gw, client, token, "rc3")
    api.admin("POST", f"/v1/admin/rentals/{out['id']}/deductions", {"amount": 1_000, "reason": "scratch"})
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    api.run_jobs()
    gw.collect(f"{out['id']}_freeze")
    assert gw.deliver(client) == [204]
    day = aws.clock.now().astimezone(BEIJING).date().isoformat()
    api.advance(2 * DAY)
    report = reconciliation.reconcile(aws, "wechat", day)
    assert (report["status"], report["matched"]) == ("matched", 2), report
