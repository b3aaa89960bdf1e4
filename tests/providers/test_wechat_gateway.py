"""The WeChat Pay Score adapter against the strict fake (tests/providers/fake_wechat.py): every test ends with
no recorded rule violation. Each issue-14 defect has a test here that fails on the old adapter."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.clock import FixedClock
from chalicelib.domain.errors import ProviderError
from tests.providers.fake_wechat import DEPOSIT_SERVICE, PAY_LATER_SERVICE, FakeWechat
from tests.providers.fakes import new_key

try:
    from chalicelib.providers.base import Line
except ImportError:  # before the port change lands
    Line = namedtuple("Line", "name amount description out_request_no")  # type: ignore[misc]

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
DAY = 86_400


@pytest.fixture
def gw(request) -> FakeWechat:  # type: ignore[no-untyped-def]
    fake = FakeWechat(getattr(request, "param", "public_key"))
    yield fake
    fake.stop()


@pytest.fixture
def provider(gw, aws, monkeypatch):  # type: ignore[no-untyped-def]
    for k, v in gw.env().items():
        monkeypatch.setenv(k, v)
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    aws.settings = get_settings()
    aws.providers.clear()
    aws.clock = FixedClock(NOW)
    gw.now = lambda: int(aws.clock.now().timestamp())
    p = aws.provider("wechat")
    p.client.sleep = lambda s: None
    yield p
    get_settings.cache_clear()
    assert gw.violations == []


def _rental(provider, gw, aws, rid: str = "rt_00000000000000000001", amount: int = 50_000):  # type: ignore[no-untyped-def]
    result = provider.freeze(rid, f"{rid}_freeze", "o-user", amount, "Camera rental", NOW + timedelta(days=90))
    assert result.status == "pending"
    aws.clock.advance(60)
    assert gw.user_confirms(result.provider_params, "o-user") is not None
    aws.clock.advance(3 * DAY)
    return result


def _lines(rid: str, *amounts: tuple[str, int]) -> list:
    return [Line(name, amount, f"{name} line", f"{rid}_{name}") for name, amount in amounts]


# -- 1, 4, 5: a need-confirm deposit order the user can confirm --------------------------------------------
def test_a_freeze_is_a_deposit_service_order_the_user_confirms_with_signed_params(provider, gw, aws) -> None:
    result = provider.freeze(
        "rt_00000000000000000001",
        "rt_00000000000000000001_freeze",
        "o-user",
        50_000,
        "A very long camera rental title for the user",
        NOW + timedelta(days=90),
    )
    order = gw.orders["rt_00000000000000000001_freeze"]
    body = order["body"]
    assert body["service_id"] == DEPOSIT_SERVICE and body["risk_fund"]["name"] == "DEPOSIT"
    assert "openid" not in body and body["need_user_confirm"] is True
    assert len(body["service_introduction"]) <= 20
    extra = result.provider_params["extraData"]
    assert result.provider_params["businessType"] == "wxpayScoreUse" and extra["sign_type"] == "HMAC-SHA256"
    assert gw.check_use_params(result.provider_params) is order  # the WeChat client accepts them
    assert provider.query("rt_00000000000000000001_freeze").status == "pending"
    gw.user_confirms(result.provider_params, "o-user")
    answer = provider.query("rt_00000000000000000001_freeze")
    assert answer.status == "succeeded" and answer.expires_at is None  # a confirmed order never lapses: never re-frozen


def test_the_old_flat_unsigned_params_are_refused_by_the_wechat_client(provider, gw) -> None:
    provider.freeze("rt_00000000000000000002", "rt_00000000000000000002_freeze", "o-user", 100, "Book", NOW)
    package = next(iter(gw.packages))
    old = {"businessType": "wxpayScoreUse", "mch_id": gw.mch_id, "package": package, "service_id": "svc1"}
    assert gw.user_confirms(old, "o-user") is None
    assert [v["rule"] for v in gw.violations] == ["PACKAGE"]
    gw.violations.clear()


def test_a_package_older_than_an_hour_is_replaced_by_fresh_params(provider, gw, aws) -> None:
    first = provider.freeze("rt_00000000000000000003", "rt_00000000000000000003_freeze", "o-user", 100, "Book", NOW)
    aws.clock.advance(3_700)
    assert gw.user_confirms(first.provider_params, "o-user") is None  # expired at the client
    fresh = provider.fresh_params("freeze", "rt_00000000000000000003")
    assert fresh["extraData"]["package"] != first.provider_params["extraData"]["package"]
    assert gw.user_confirms(fresh, "o-user") is not None
    assert provider.fresh_params("freeze", "rt_00000000000000000003") is None  # confirmed: nothing to open


# -- 2, 3, 11: every amount in one completion ---------------------------------------------------------
def test_settling_completes_once_with_every_line_an_end_time_and_their_sum(provider, gw, aws) -> None:
    rid = "rt_00000000000000000004"
    _rental(provider, gw, aws, rid)
    lines = _lines(rid, ("rent", 3_500), ("deduction", 1_000), ("deduction", 500))
    results = provider.settle_freeze(f"{rid}_release", f"{rid}_freeze", "o-user", lines, 45_000, fulfilled=True)
    assert all(r.ok for r in results) and len(results) == 4
    again = provider.settle_freeze(f"{rid}_release", f"{rid}_freeze", "o-user", lines, 45_000, fulfilled=True)
    assert all(r.ok for r in again)
    order = gw.orders[f"{rid}_freeze"]
    ((action, body),) = order["actions"]  # one /complete, never /modify
    assert action == "complete" and body["total_amount"] == 5_000
    assert [p["name"] for p in body["post_payments"]] == ["rent", "deduction", "deduction 2"]
    assert body["time_range"]["end_time"] and order["collection"]["state"] == "USER_PAYING"
    assert provider.captures_live is False
    assert provider.capture_from_freeze(f"{rid}_ded3", f"{rid}_freeze", "o-user", 100, "late").status == "failed"
    assert [a for a, _ in order["actions"]] == ["complete"]


def test_a_completion_whose_answer_was_lost_is_resent_identically(provider, gw, aws) -> None:
    rid = "rt_00000000000000000005"
    _rental(provider, gw, aws, rid)
    gw.down.add("/complete")
    with pytest.raises(ProviderError):
        provider.settle_freeze(
            f"{rid}_release", f"{rid}_freeze", "o-user", _lines(rid, ("rent", 700)), 0, fulfilled=True
        )
    gw.down.clear()
    aws.clock.advance(600)  # a later end_time would be refused as a changed re-entry
    assert all(
        r.ok
        for r in provider.settle_freeze(
            f"{rid}_release", f"{rid}_freeze", "o-user", _lines(rid, ("rent", 700)), 0, fulfilled=True
        )
    )
    assert gw.orders[f"{rid}_freeze"]["total_amount"] == 700


def test_a_defaulted_rental_is_completed_for_rent_and_overdue_within_its_risk_fund(provider, gw, aws) -> None:
    rid = "rt_00000000000000000006"
    _rental(provider, gw, aws, rid, amount=10_000)
    lines = _lines(rid, ("rent", 3_500), ("overdue", 6_500))
    assert all(
        r.ok for r in provider.settle_freeze(f"{rid}_release", f"{rid}_freeze", "o-user", lines, 0, fulfilled=False)
    )
    assert gw.orders[f"{rid}_freeze"]["total_amount"] == 10_000


def test_nothing_owed_completes_at_zero_when_returned_and_cancels_with_a_short_reason_otherwise(
    provider, gw, aws
) -> None:
    rid = "rt_00000000000000000007"
    _rental(provider, gw, aws, rid)
    assert provider.release(f"{rid}_release", f"{rid}_freeze", "o-user", 50_000, fulfilled=True).ok
    assert gw.orders[f"{rid}_freeze"]["state"] == "DONE"  # a 0 completion: the positive record
    other = "rt_00000000000000000008"
    _rental(provider, gw, aws, other)
    assert provider.release(f"{other}_release", f"{other}_freeze", "o-user", 50_000).ok
    order = gw.orders[f"{other}_freeze"]
    assert order["state"] == "REVOKED" and len(order["cancel_reason"]) <= 30
    assert provider.cancel_freeze(other, f"{other}_freeze").ok  # already cancelled: done
    calls = len(gw.calls)
    assert provider.cancel_freeze("rt_never", "rt_never_freeze").ok and len(gw.calls) == calls


# -- 4, 6: pay later under its own service, collection ---------------------------------------------------
def _pay_later(provider, gw, aws, oid: str = "ord_00000000000000000001", amount: int = 9_900):  # type: ignore[no-untyped-def]
    opened = provider.open_pay_later(f"{oid}_pl", "o-user", amount, "Headphones", NOW + timedelta(days=7))
    aws.clock.advance(60)
    gw.user_confirms(opened.provider_params, "o-user")
    aws.clock.advance(7 * DAY)
    return opened.provider_ref


def test_pay_later_is_its_own_service_completed_once_and_collected(provider, gw, aws) -> None:
    number = _pay_later(provider, gw, aws)
    body = gw.orders[number]["body"]
    assert body["service_id"] == PAY_LATER_SERVICE and body["risk_fund"]["name"] == "ESTIMATE_ORDER_COST"
    charged = provider.charge("ord_00000000000000000001_charge1", "o-user", 9_900, "Headphones", agreement_ref=number)
    assert charged.status == "pending"
    again = provider.charge("ord_00000000000000000001_charge2", "o-user", 9_900, "Headphones", agreement_ref=number)
    assert again.status == "pending" and [a for a, _ in gw.orders[number]["actions"]] == ["complete"]
    assert provider.request_collection("ord_00000000000000000001_charge1", number).status == "pending"
    assert gw.collection_requests == [number]
    gw.collect(number)
    paid = provider.query("ord_00000000000000000001_charge1")
    assert paid.status == "succeeded" and paid.provider_ref.startswith("4200")


def test_an_offline_payment_is_synced_and_a_collection_then_asks_nothing(provider, gw, aws) -> None:
    number = _pay_later(provider, gw, aws, "ord_00000000000000000002")
    provider.charge("ord_00000000000000000002_charge1", "o-user", 9_900, "x", agreement_ref=number)
    assert provider.record_offline_payment(number, aws.clock.now()).ok
    assert gw.orders[number]["collection"]["state"] == "USER_PAID"
    assert provider.request_collection("ord_00000000000000000002_charge1", number).ok
    assert gw.collection_requests == []


def test_closing_an_unconfirmed_pay_later_order_cancels_it_with_a_reason_of_30_characters(provider, gw) -> None:
    opened = provider.open_pay_later("ord_00000000000000000003_pl", "o-user", 500, "Tea", NOW)
    assert provider.close_pay_later("ord_00000000000000000003_pl", None, "x" * 90).ok
    order = gw.orders[opened.provider_ref]
    assert order["state"] == "REVOKED" and len(order["cancel_reason"]) == 30
    assert provider.close_pay_later("ord_00000000000000000003_pl", None, "again").ok  # revoked: nothing sent


# -- 7: refunds --------------------------------------------------------------------------------------
def test_a_refund_names_the_transaction_total_and_is_settled_by_query(provider, gw, aws) -> None:
    number = _pay_later(provider, gw, aws, "ord_00000000000000000004")
    provider.charge("ord_00000000000000000004_charge1", "o-user", 9_900, "x", agreement_ref=number)
    gw.collect(number)
    tx = provider.query("ord_00000000000000000004_charge1").provider_ref
    refund = provider.refund("ord_00000000000000000004_rfd1", tx, "o-user", 2_000, charged_total=9_900)
    assert refund.status == "pending"
    assert (
        provider.refund("ord_00000000000000000004_rfd1", tx, "o-user", 2_000, charged_total=9_900).status == "pending"
    )  # the same refund
    assert gw.transactions[tx]["refunded"] == 2_000
    gw.finish_refund("ord_00000000000000000004_rfd1", "SUCCESS")
    assert provider.query("ord_00000000000000000004_rfd1").ok
    assert gw.calls[-1]["path"] == "/v3/refund/domestic/refunds/ord_00000000000000000004_rfd1"


# -- 9: keys, serials, throttling ---------------------------------------------------------------------
def test_requests_name_the_key_we_verify_and_throttling_is_retried_then_a_provider_error(provider, gw) -> None:
    waits: list = []
    provider.client.sleep = waits.append
    gw.throttle = 2
    provider.freeze("rt_00000000000000000009", "rt_00000000000000000009_freeze", "o-user", 100, "Book", NOW)
    assert all(c["headers"]["wechatpay-serial"] == gw.public_key_id for c in gw.calls)
    assert len(waits) == 2 and sum(waits) <= 2.5
    gw.throttle = 10
    with pytest.raises(ProviderError, match="throttled"):
        provider.query("rt_00000000000000000009_freeze")
    gw.throttle = 0


@pytest.mark.parametrize("gw", ["certificate"], indirect=True)
def test_certificates_are_downloaded_stored_and_a_rotation_followed(provider, gw, aws) -> None:
    assert provider.refresh_keys() is None
    stored = aws.table.get("PROV#wechat#certs", "CERTS")["certs"]
    assert list(stored) == [gw.certs[0]["serial"]]
    new = gw.rotate()
    provider.refresh_keys()
    assert set(aws.table.get("PROV#wechat#certs", "CERTS")["certs"]) == {c["serial"] for c in gw.certs}
    provider.freeze("rt_00000000000000000010", "rt_00000000000000000010_freeze", "o-user", 100, "Book", NOW)
    assert gw.calls[-1]["headers"]["wechatpay-serial"] == new["serial"]
    aws.providers.clear()  # another container: the stored certificate verifies the new signatures
    headers, body = gw.notify("PAYSCORE.SOMETHING", {"x": 1}, "payscore")
    assert aws.provider("wechat").verify_notification(headers, body).kind == "wechat.PAYSCORE.SOMETHING"


@pytest.mark.parametrize("gw", ["certificate"], indirect=True)
def test_an_unknown_serial_triggers_one_download(provider, gw, aws) -> None:
    gw.rotate()
    headers, body = gw.notify("PAYSCORE.SOMETHING", {"x": 1}, "payscore")
    assert provider.verify_notification(headers, body).kind == "wechat.PAYSCORE.SOMETHING"
    assert [c["path"] for c in gw.calls] == ["/v3/certificates"]


def test_public_key_mode_has_no_certificates_to_download(provider, gw, aws) -> None:
    provider.refresh_keys()
    assert aws.table.get("PROV#wechat#certs", "CERTS") is None


def test_our_signature_answers_and_their_age_are_all_checked(provider, gw, monkeypatch) -> None:
    monkeypatch.setattr(gw, "merchant_key", new_key())  # WeChat no longer knows our key: 401
    with pytest.raises(ProviderError, match="401"):
        provider.freeze("rt_00000000000000000011", "rt_00000000000000000011_freeze", "o-user", 100, "Book", NOW)
    assert [v["rule"] for v in gw.violations] == ["AUTH"]
    gw.violations.clear()
    monkeypatch.undo()
    monkeypatch.setattr(gw, "public_key", new_key())  # answers signed by someone else
    with pytest.raises(ProviderError):
        provider.freeze("rt_00000000000000000012", "rt_00000000000000000012_freeze", "o-user", 100, "Book", NOW)


# -- consent and deposits --------------------------------------------------------------------------------
def test_consent_is_pending_with_enable_params_and_a_lost_answer_is_queried(provider, gw) -> None:
    answer = provider.authorize_credit("o-user", "auth_m1_1700000000")
    assert answer.status == "pending" and answer.provider_params["businessType"] == "wxpayScoreEnable"
    assert provider.query("auth_m1_1700000000").status == "failed"  # UNAVAILABLE: not opened yet
    gw.user_opens_service(answer.provider_params, "o-user")
    settled = provider.query("auth_m1_1700000000")
    assert (settled.status, settled.provider_ref) == ("succeeded", "o-user")


def test_a_cash_deposit_is_a_jsapi_trade_settled_by_query(provider, gw) -> None:
    result = provider.collect_deposit("rt_00000000000000000013", "o-user", 20_000, "Deposit")
    assert result.status == "pending" and result.provider_params["signType"] == "RSA"
    assert provider.query(result.provider_ref).status == "pending"
    gw.pay_trade(result.provider_ref)
    assert provider.query(result.provider_ref).ok


def test_a_number_wechat_would_refuse_is_hashed_and_its_notification_maps_back(provider, gw, aws) -> None:
    long_no = "rental-0123456789abcdef0123456789-freeze"  # 39 characters and hyphens: not a Pay Score number
    result = provider.freeze("rental-x", long_no, "o-user", 100, "Book", NOW)
    assert len(result.provider_ref) <= 32 and result.provider_ref in gw.orders
    aws.clock.advance(60)
    headers, body = gw.user_confirms(result.provider_params, "o-user")
    note = provider.verify_notification(headers, body)
    assert (note.kind, note.out_request_no, note.provider_ref) == ("freeze.succeeded", long_no, result.provider_ref)
    assert provider.query(long_no).status == "succeeded"
