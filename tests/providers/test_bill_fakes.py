"""The strict fakes serve bills as the references describe and refuse what the providers refuse: the Alipay
bill query's fields and T+1 rule, WeChat's tradebill query fields, T+1, an unsigned download, a used link."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import pytest

from tests.providers.fake_alipay import FakeAlipay
from tests.providers.test_alipay_fake import send
from tests.providers.test_wechat_gateway import gw, provider  # noqa: F401 - fixtures

BILL = "alipay.data.dataservice.bill.downloadurl.query"


@pytest.fixture
def fresh() -> FakeAlipay:
    fake = FakeAlipay()
    yield fake
    fake.stop()


def test_alipay_refuses_a_misnamed_or_malformed_bill_query(fresh) -> None:
    out = send(fresh, BILL, {"billDate": "2026-11-22", "bill_type": "trade"})
    assert out["code"] == "40002" and "missing bill_date" in out["sub_msg"]
    out = send(fresh, BILL, {"bill_date": "22/11/2026", "bill_type": "trade"})
    assert out["code"] == "40002" and "bad bill_date" in out["sub_msg"]
    assert any("unknown field billDate" in v for v in fresh.violations)
    fresh.violations.clear()


def test_alipay_serves_no_bill_of_today_and_an_empty_day_says_so(fresh) -> None:
    out = send(fresh, BILL, {"bill_type": "trade", "bill_date": "2026-11-23"})  # the request's own day
    assert (out["code"], out["sub_code"]) == ("40004", "isp.bill_not_exist")
    out = send(fresh, BILL, {"bill_type": "trade", "bill_date": "2026-11-22"})
    assert out["code"] == "10000" and out["bill_file_code"] == "EMPTY_DATA_WITH_BILL_FILE"
    status, _, raw = fresh.answer("GET", "/" + out["bill_download_url"].split("/", 3)[3], {}, b"")
    names = [i.filename.encode("cp437").decode("gbk") for i in zipfile.ZipFile(io.BytesIO(raw)).infolist()]
    assert status == 200 and any(n.endswith("_业务明细.csv") for n in names)
    assert fresh.answer("GET", "/" + out["bill_download_url"].split("/", 3)[3], {}, b"")[0] == 404  # used once
    assert fresh.violations == []


def test_wechat_refuses_a_misnamed_query_and_a_bill_not_generated_yet(provider, gw) -> None:  # noqa: F811
    status, out = provider.client.call("GET", "/v3/bill/tradebill?billdate=2026-11-22")
    assert (status, out["code"]) == (400, "PARAM_ERROR")
    assert [v["rule"] for v in gw.violations] == ["FIELDS"]
    gw.violations.clear()
    status, out = provider.client.call("GET", "/v3/bill/tradebill?bill_date=2026-11-23&bill_type=ALL&tar_type=GZIP")
    assert (status, out["code"]) == (400, "STATEMENT_CREATING")
    status, out = provider.client.call("GET", "/v3/bill/tradebill?bill_date=2026-11-22&bill_type=ALL&tar_type=GZIP")
    assert (status, out["code"]) == (400, "NO_STATEMENT_EXIST")


def test_wechat_serves_the_file_once_to_a_signed_request_with_its_sha1(provider, gw) -> None:  # noqa: F811
    gw.transactions["4200000000000000000000000001"] = {
        "total": 1_234,
        "out_trade_no": "ord_ab_charge1",
        "refunded": 0,
        "at": gw.now() - 86_400,
    }
    status, out = provider.client.call("GET", "/v3/bill/tradebill?bill_date=2026-11-22&bill_type=ALL&tar_type=GZIP")
    assert status == 200 and out["hash_type"] == "SHA1"
    path = "/" + out["download_url"].split("/", 3)[3]
    status, _, raw = gw.answer("GET", path, {"Accept": "application/json"}, b"")  # no Authorization
    assert status == 401 and "BILL_DOWNLOAD" in [v["rule"] for v in gw.violations]
    gw.violations.clear()
    resp, _ = provider.client.raw("GET", path)
    text = gzip.decompress(resp.body)
    assert resp.status == 200 and hashlib.sha1(text).hexdigest() == out["hash_value"]  # noqa: S324
    assert "`ord_ab_charge1" in text.decode() and "`12.34" in text.decode()
    assert provider.client.raw("GET", path)[0].status == 400  # the link is used
