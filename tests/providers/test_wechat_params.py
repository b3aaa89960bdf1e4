"""Signing and field limits of what we send WeChat Pay, without a network: the APIv2 HMAC-SHA256 sign of the
mini-program's Pay Score parameters, Beijing times, itemised completions, clipped texts."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.providers import wechat_format, wechat_params
from chalicelib.providers.wechat_params import Item

KEY = "a" * 16 + "APIv2key" + "b" * 8


def test_the_apiv2_sign_is_the_documented_example() -> None:
    # pay.weixin.qq.com/wiki/doc/api/...chapter=4_3: the HMAC-SHA256 value of the documented example
    params = {
        "appid": "wxd930ea5d5a258f4f",
        "mch_id": "10000100",
        "device_info": "1000",
        "body": "test",
        "nonce_str": "ibuaiVcKdpRxkhJA",
    }
    assert (
        wechat_format.apiv2_sign(params, "192006250b4c09247ec02edce69f6a2d")
        == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    )


def test_use_params_carry_every_field_the_client_needs_and_a_verifiable_sign() -> None:
    p = wechat_params.use_params("1900000001", "PKG1", KEY, 1_700_000_000, nonce="abc123")
    assert p["businessType"] == "wxpayScoreUse"
    extra = p["extraData"]
    assert set(extra) == {"mch_id", "package", "timestamp", "nonce_str", "sign_type", "sign"}
    assert extra["sign_type"] == "HMAC-SHA256" and extra["timestamp"] == "1700000000"
    text = "mch_id=1900000001&nonce_str=abc123&package=PKG1&sign_type=HMAC-SHA256&timestamp=1700000000"
    assert extra["sign"] == hmac.new(KEY.encode(), f"{text}&key={KEY}".encode(), hashlib.sha256).hexdigest().upper()


def test_a_missing_apiv2_key_is_refused_not_signed_with_nothing() -> None:
    with pytest.raises(ValueError):
        wechat_params.use_params("1900000001", "PKG1", "", 1)


def test_pay_score_times_are_beijing_time() -> None:
    at = datetime(2026, 11, 23, 16, 30, 5, tzinfo=timezone.utc)
    assert wechat_format.wechat_time(at) == "20261124003005"
    assert wechat_format.from_wechat_time("20261124003005") == at
    assert wechat_format.from_wechat_time("20261124") == datetime(2026, 11, 23, 16, tzinfo=timezone.utc)


def test_a_completion_names_each_line_once_and_sums_to_its_total() -> None:
    body = wechat_params.completion(
        [Item("rent", 3_500, "rent 7 days"), Item("deduction", 1_000, "scratch"), Item("deduction", 500, "lost cable")],
        [Item("coupon", 300, "first order")],
    )
    assert [p["name"] for p in body["post_payments"]] == ["rent", "deduction", "deduction 2"]
    assert body["total_amount"] == 4_700 and body["post_discounts"] == [
        {"name": "coupon", "amount": 300, "description": "first order"}
    ]


@given(
    st.lists(
        st.tuples(st.text(min_size=0, max_size=40), st.integers(0, 10**7), st.text(max_size=60)),
        min_size=1,
        max_size=140,
    )
)
def test_any_lines_fit_the_limits_and_keep_their_sum(raw: list) -> None:
    body = wechat_params.completion([Item(n, a, d) for n, a, d in raw])
    lines = body["post_payments"]
    assert len(lines) <= 100 and body["total_amount"] == sum(a for _, a, _ in raw)
    assert all(len(x["name"]) <= 20 and len(x.get("description", "")) <= 30 for x in lines)
    assert len({x["name"] for x in lines}) == len(lines)


def test_reasons_the_user_reads_are_at_most_30_characters_and_never_empty() -> None:
    assert len(wechat_params.reason("x" * 80)) == 30
    assert wechat_params.reason("  ") == wechat_params.REASON_CANCELLED
    assert len(wechat_params.REASON_NOTHING_OWED) <= 30 and len(wechat_params.REASON_CANCELLED) <= 30
    assert (
        wechat_params.clip("租赁服务：高端相机七天租用含配件和保险服务", 20)
        == "租赁服务：高端相机七天租用含配件和保险服"
    )


def test_numbered_names_never_collide_with_given_ones() -> None:
    body = wechat_params.completion([Item("a 2", 1), Item("a", 1), Item("a", 1)])
    assert [p["name"] for p in body["post_payments"]] == ["a 2", "a", "a 3"]


def test_our_close_codes_reach_the_user_as_sentences() -> None:
    assert wechat_params.reason("team_failed") == "拼团未成功，未产生费用"
    assert wechat_params.reason("some_new_code") == wechat_params.REASON_CANCELLED
    assert all(len(v) <= 30 for v in wechat_params.USER_REASONS.values())
