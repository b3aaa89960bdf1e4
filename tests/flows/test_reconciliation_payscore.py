"""Daily reconciliation of the Pay Score merchant bill against the strict fake WeChat Pay: GET
/v3/payscore/merchant-bill per service id -> encrypted parts (encrypt_key RSA-OAEP to our certificate, AES-256-GCM,
gzip, SHA1 of the plain text), joined in bill_sequence order and matched with our WeChat ledger's Pay Score lines
(charges, captures) as the `wechat_payscore` report, beside the trade bill's `wechat` report."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta, timezone

import pytest

from chalicelib.domain.reconciliation import BillLine
from chalicelib.jobs import reconciliation as job
from chalicelib.services.ops import reconciliation
from chalicelib.store.day_index import shard_count
from tests.flows.test_reconciliation_wechat import _day_of_money
from tests.flows.test_wechat_flows import _member, _rental, gw, wechat  # noqa: F401 - fixtures
from tests.helpers import Api
from tests.rental_helpers import DAY

BEIJING = timezone(timedelta(hours=8))
REPORT = "wechat_payscore"


def _bill_calls(gw, day: str) -> list[dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    """The merchant-bill requests for `day` (the daily job may have asked for earlier days)."""
    return [c for c in gw.calls if c["path"] == "/v3/payscore/merchant-bill" and c["query"].get("bill_date") == day]


def _settled_rentals(api: Api, gw, client, names: list[str]) -> list[dict]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Rentals returned and completed on one day for their rent and a deduction: one Pay Score collection of
    two lines each."""
    rentals = []
    for name in names:
        token = _member(api, gw, client, name)
        out = _rental(api, gw, client, token, name)
        api.admin("POST", f"/v1/admin/rentals/{out['id']}/deductions", {"amount": 1_000, "reason": "scratch"})
        rentals.append((token, out))
    api.advance(5 * DAY)
    for token, out in rentals:
        assert api.post(f"/v1/rentals/{out['id']}/return", {}, token=token)[0] == 200
    api.run_jobs()
    api.run_jobs()
    for _, out in rentals:
        gw.collect(f"{out['id']}_freeze")
        assert gw.deliver(client) == [204]
    return [out for _, out in rentals]


def _alerts(aws, day: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(aws.table.query("pk = :p", {":p": f"AUDIT#reconciliation#{REPORT}_{day}"}))


def test_the_pay_score_bill_matches_its_collection_beside_the_trade_bill(gw, client, aws, monkeypatch) -> None:  # noqa: F811
    """The pay-later collection is in both bills: each report counts it once; the refund is the trade bill's."""
    api = Api(client)
    day, order = _day_of_money(api, gw, client, aws)
    trips: list[str] = []
    for name in ("get", "batch_get", "put", "update", "query", "transact"):
        real = getattr(aws.table, name)
        monkeypatch.setattr(aws.table, name, lambda *a, _n=name, _r=real, **k: trips.append(_n) or _r(*a, **k))
    report = reconciliation.reconcile(aws, REPORT, day)
    assert (report["status"], report["matched"]) == ("matched", 1), report
    # DynamoDB round trips: the platform key (read once, to verify the answers), what the bill's one row was (the
    # collection's order, our completion of it, the request it was for), our ledger of a Beijing day (two UTC
    # day listings, one Query a shard), and the report in one transaction
    assert sorted(trips) == sorted(["get"] * (1 + 3) + ["query"] * 2 * shard_count() + ["transact"]), trips
    monkeypatch.undo()
    env = gw.env()
    assert sorted(c["query"]["service_id"] for c in _bill_calls(gw, day)) == sorted(
        [env["CREDITFIRST_WECHAT_SERVICE_ID_DEPOSIT"], env["CREDITFIRST_WECHAT_SERVICE_ID_PAY_LATER"]]
    )
    assert {tuple(sorted(c["query"])) for c in _bill_calls(gw, day)} == {
        ("bill_date", "encryption_algorithm", "service_id", "tar_type")
    }
    assert {
        (c["query"]["bill_date"], c["query"]["tar_type"], c["query"]["encryption_algorithm"])
        for c in _bill_calls(gw, day)
    } == {(day, "GZIP", "AEAD_AES_256_GCM")}
    downloads = [c for c in gw.calls if c["path"] == "/v3/payscore/bill/downloadurl"]
    assert downloads and all(c["headers"]["authorization"].startswith("WECHATPAY2-SHA256-RSA2048") for c in downloads)
    assert reconciliation.reconcile(aws, "wechat", day)["matched"] == 2  # the collection and the refund

    status, out = api.admin("GET", f"/v1/admin/reconciliation?date={day}")
    assert status == 200
    assert {(p["provider"], p["status"], p["matched"]) for p in out["providers"]} == {
        ("wechat", "matched", 2),
        (REPORT, "matched", 1),
    }
    assert _alerts(aws, day) == []


def test_two_parts_join_by_bill_sequence_into_our_rental_lines(gw, client, aws, monkeypatch) -> None:  # noqa: F811
    api = Api(client)
    real = type(gw).merchant_bill

    def listed_backwards(self, query, body):  # type: ignore[no-untyped-def]
        status, out = real(self, query, body)
        return status, {**out, "download_bill_list": out.get("download_bill_list", [])[::-1]}

    monkeypatch.setattr(type(gw), "merchant_bill", listed_backwards)  # the join follows bill_sequence
    _settled_rentals(api, gw, client, ["ps1", "ps2"])
    day = aws.clock.now().astimezone(BEIJING).date().isoformat()
    api.advance(2 * DAY)
    gw.service_bill_parts = 2
    report = reconciliation.reconcile(aws, REPORT, day)
    # rent and damage of each rental: four of our lines out of two collections, served in two parts
    assert (report["status"], report["matched"]) == ("matched", 4), report
    parts = [c for c in gw.calls if c["path"] == "/v3/payscore/bill/downloadurl"]
    assert len(parts) == 2


def test_a_mismatched_pay_score_bill_raises_one_alert_and_a_rerun_gives_the_same_report(gw, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order = _day_of_money(api, gw, client, aws)
    ((_, tx),) = gw.transactions.items()
    tx["total"] = 9_800  # Pay Score collected 1 yuan less than we recorded
    report = reconciliation.reconcile(aws, REPORT, day)
    assert report["status"] == "mismatched" and report["matched"] == 0
    assert report["amount_mismatch"] == [
        {"out_request_no": f"{order['id']}_charge1", "kind": "charge", "provider_amount": 9_800, "our_amount": 9_900}
    ]
    assert (report["only_provider"], report["only_ours"]) == ([], [])
    assert reconciliation.reconcile(aws, REPORT, day) == report
    (alert,) = _alerts(aws, day)
    assert alert["event_type"] == "reconciliation.mismatched" and alert["data"] == {"date": day, "provider": REPORT}


def test_a_collection_missing_from_the_pay_score_bill_is_only_ours(gw, client, aws) -> None:  # noqa: F811
    api = Api(client)
    day, order = _day_of_money(api, gw, client, aws)
    ((_, tx),) = gw.transactions.items()
    tx["at"] -= 3 * 86_400  # WeChat booked the collection on another day
    report = reconciliation.reconcile(aws, REPORT, day)
    assert report["only_ours"] == [{"out_request_no": f"{order['id']}_charge1", "kind": "charge", "amount": 9_900}]


def test_a_part_failing_its_hash_its_gcm_tag_or_its_key_is_refused(gw, client, aws, monkeypatch) -> None:  # noqa: F811
    api = Api(client)
    day, _ = _day_of_money(api, gw, client, aws)
    real = type(gw).merchant_bill

    def bad_hash(self, query, body):  # type: ignore[no-untyped-def]
        status, out = real(self, query, body)
        for part in out.get("download_bill_list", []):
            part["hash_value"] = hashlib.sha1(b"another file").hexdigest()  # noqa: S324
        return status, out

    monkeypatch.setattr(type(gw), "merchant_bill", bad_hash)
    report = reconciliation.reconcile(aws, REPORT, day)
    assert report["status"] == "unavailable" and "SHA1" in report["reason"], report

    def tampered(self, query, body):  # type: ignore[no-untyped-def]
        status, out = real(self, query, body)
        for token, data in self.service_bill_files.items():
            self.service_bill_files[token] = data[:-1] + bytes([data[-1] ^ 1])
        return status, out

    monkeypatch.setattr(type(gw), "merchant_bill", tampered)
    report = reconciliation.reconcile(aws, REPORT, day)
    assert report["status"] == "unavailable" and "AES-GCM" in report["reason"], report

    def foreign_key(self, query, body):  # type: ignore[no-untyped-def]
        status, out = real(self, query, body)
        for part in out.get("download_bill_list", []):
            part["encrypt_key"] = base64.b64encode(bytes(256)).decode()  # not sealed to our certificate
        return status, out

    monkeypatch.setattr(type(gw), "merchant_bill", foreign_key)
    report = reconciliation.reconcile(aws, REPORT, day)
    assert report["status"] == "unavailable" and "private key" in report["reason"], report
    stored = reconciliation.report(aws.table, day)["providers"]
    assert [(p["provider"], p["status"]) for p in stored] == [(REPORT, "unavailable")]  # never a report from them


def test_a_day_without_pay_score_money_matches_and_a_day_not_ready_is_unavailable(gw, client, aws) -> None:  # noqa: F811
    _member(Api(client), gw, client, "ps3")
    yesterday = (aws.clock.now().astimezone(BEIJING) - timedelta(days=1)).date().isoformat()
    assert reconciliation.reconcile(aws, REPORT, yesterday)["status"] == "matched"  # NO_STATEMENT_EXIST, both
    today = aws.clock.now().astimezone(BEIJING).date().isoformat()
    report = reconciliation.reconcile(aws, REPORT, today)
    assert report["status"] == "unavailable" and "STATEMENT_CREATING" in report["reason"]


def test_the_pay_score_report_covers_charges_and_captures_under_a_pay_score_order_only(gw, client, aws) -> None:  # noqa: F811
    """A rental held by a cash deposit (a JSAPI trade) is captured from that deposit: no Pay Score collection, so
    its capture is the trade bill's alone, like deposits and refunds."""
    api = Api(client)
    token = _member(api, gw, client, "ps4")
    held = _rental(api, gw, client, token, "ps4")["id"]  # a Pay Score order holds it
    ours = [
        BillLine(f"{held}_rent", "capture", 3_000),
        BillLine("rt_cash_rent", "capture", 3_500),  # a deposit rental's rent, taken from the deposit
        BillLine("rt_cash_deposit", "deposit", 50_000),
        BillLine("rt_cash_release", "refund", 46_500),
        BillLine("ord_x_charge1", "charge", 9_900),
    ]
    scoped = reconciliation.source(REPORT).scope(aws.provider("wechat"), ours)
    assert [line.out_request_no for line in scoped] == [f"{held}_rent", "ord_x_charge1"]


@pytest.mark.parametrize(
    ("query", "rule", "named"),
    [
        ("bill_date=2026-01-01&tar_type=GZIP&service_id=x", "PAYSCORE_BILL", "encryption_algorithm"),
        # the fund bills' name for it (wechatpay-java GetSingleSubMchFundFlowBillRequest): not this API's
        ("bill_date=2026-01-01&tar_type=GZIP&algorithm=AEAD_AES_256_GCM&service_id=x", "FIELDS", "algorithm"),
    ],
)
def test_the_fake_refuses_a_bill_request_missing_or_misnaming_a_field(gw, aws, query, rule, named) -> None:  # noqa: F811
    status, answer = aws.provider("wechat").client.call("GET", f"/v3/payscore/merchant-bill?{query}")
    assert (status, answer["code"]) == (400, "PARAM_ERROR") and named in answer["message"]
    assert [v["rule"] for v in gw.violations] == [rule]
    gw.violations.clear()  # the violation this test provoked; the fixture asserts none is left


def test_the_daily_job_skips_the_pay_score_bill_where_wechat_is_not_configured(client, aws) -> None:
    assert job.reconcile_one(aws, {"provider": REPORT, "day": "2026-01-01"}) == "not_configured"
