"""The official signed notifications (Alipay's and WeChat Pay's own SDK tests) verify; any change fails."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.domain.errors import InvalidSignature
from chalicelib.providers import alipay_format, keys, wechat_format

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
ALIPAY = json.loads((VECTORS / "alipay_trade_status_sync.json").read_text())
WECHAT = json.loads((VECTORS / "wechatpay_payscore_notify.json").read_text())
ALIPAY_KEY = keys.load_public_key(ALIPAY["alipay_public_key_base64_der"])
WECHAT_KEYS = {
    keys.certificate_serial(WECHAT["platform_certificate_pem"]): keys.load_public_key(
        WECHAT["platform_certificate_pem"]
    )
}
WECHAT_AT = datetime.fromtimestamp(int(WECHAT["headers"]["Wechatpay-Timestamp"]), tz=timezone.utc)


# -- Alipay ---------------------------------------------------------------------------------
def test_the_real_alipay_notification_verifies() -> None:
    alipay_format.verify_notification(ALIPAY["params"], ALIPAY_KEY)


def test_the_alipay_notification_verifies_from_its_raw_form_body() -> None:
    from urllib.parse import urlencode

    params = alipay_format.parse_form(urlencode(ALIPAY["params"]).encode("utf-8"))
    alipay_format.verify_notification(params, ALIPAY_KEY)
    assert params["subject"] == "语雀空间 500人规模"


@pytest.mark.parametrize("name", sorted(k for k in ALIPAY["params"] if k not in ("sign", "sign_type")))
def test_changing_any_alipay_value_fails(name: str) -> None:
    params = dict(ALIPAY["params"])
    params[name] = params[name] + "0" if name != "total_amount" else "100.00"
    with pytest.raises(InvalidSignature):
        alipay_format.verify_notification(params, ALIPAY_KEY)


@pytest.mark.parametrize("change", ["add", "drop", "sign", "sign_type", "empty_sign"])
def test_adding_dropping_or_resigning_alipay_parameters_fails(change: str) -> None:
    params = dict(ALIPAY["params"])
    if change == "add":
        params["refund_fee"] = "0.10"
    elif change == "drop":
        del params["point_amount"]
    elif change == "sign":
        params["sign"] = params["sign"][:-4] + "AAA="
    elif change == "sign_type":
        params["sign_type"] = "RSA"
    else:
        params["sign"] = ""
    with pytest.raises(InvalidSignature):
        alipay_format.verify_notification(params, ALIPAY_KEY)


def test_a_form_repeating_a_parameter_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        alipay_format.parse_form(b"total_amount=0.10&total_amount=100.00")


def test_fen_and_yuan_convert_exactly() -> None:
    assert [alipay_format.yuan(v) for v in (0, 1, 10, 100, 12345, 10**12 + 7)] == [
        "0.00",
        "0.01",
        "0.10",
        "1.00",
        "123.45",
        "10000000000.07",
    ]
    assert [alipay_format.fen(v) for v in ("0.10", "123.45", "1", "0.01")] == [10, 12345, 100, 1]
    with pytest.raises(ValueError):
        alipay_format.fen("0.001")
    with pytest.raises(ValueError):
        alipay_format.yuan(-1)


def test_timestamps_are_beijing_time() -> None:
    at = datetime(2026, 11, 23, 16, 30, 5, tzinfo=timezone.utc)
    assert alipay_format.beijing_time(at) == "2026-11-24 00:30:05"
    assert alipay_format.from_beijing("2026-11-24 00:30:05") == at


# -- WeChat Pay ------------------------------------------------------------------------------
def _verify(headers: dict, body: bytes, now: datetime = WECHAT_AT) -> None:
    wechat_format.verify_signed(headers, body, WECHAT_KEYS, now)


def test_the_real_wechat_notification_verifies_and_decrypts_at_its_time() -> None:
    body = WECHAT["body"].encode()
    _verify(WECHAT["headers"], body)
    plain = wechat_format.decrypt_resource(json.loads(body)["resource"], WECHAT["apiv3_key"])
    assert plain["out_contract_code"] == "21640bdbd08e473e828f3206a2741c6e"
    assert list(WECHAT_KEYS) == [WECHAT["platform_serial"]]


@pytest.mark.parametrize("offset, ok", [(-300, True), (300, True), (-301, False), (301, False), (86400, False)])
def test_wechat_timestamps_more_than_five_minutes_off_fail(offset: int, ok: bool) -> None:
    now = datetime.fromtimestamp(WECHAT_AT.timestamp() + offset, tz=timezone.utc)
    if ok:
        _verify(WECHAT["headers"], WECHAT["body"].encode(), now)
    else:
        with pytest.raises(InvalidSignature):
            _verify(WECHAT["headers"], WECHAT["body"].encode(), now)


@pytest.mark.parametrize("change", ["body", "timestamp", "nonce", "signature", "serial", "signtest", "missing"])
def test_any_change_to_the_wechat_notification_fails(change: str) -> None:
    headers, body = dict(WECHAT["headers"]), WECHAT["body"].encode()
    if change == "body":
        body = body.replace(b"PAYSCORE.USER_OPEN_SERVICE", b"PAYSCORE.USER_PAID")
    elif change == "timestamp":
        headers["Wechatpay-Timestamp"] = str(int(headers["Wechatpay-Timestamp"]) + 1)
    elif change == "nonce":
        headers["Wechatpay-Nonce"] = headers["Wechatpay-Nonce"][:-1] + "x"
    elif change == "signature":
        headers["Wechatpay-Signature"] = "A" + headers["Wechatpay-Signature"][1:]
    elif change == "serial":
        headers["Wechatpay-Serial"] = "5157F09EFDC096DE15EBE81A47057A72"
    elif change == "signtest":
        headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]
    else:
        del headers["Wechatpay-Nonce"]
    with pytest.raises(InvalidSignature):
        _verify(headers, body)


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "associated_data", "key", "algorithm"])
def test_a_tampered_wechat_resource_does_not_decrypt(field: str) -> None:
    resource = dict(json.loads(WECHAT["body"])["resource"])
    key = WECHAT["apiv3_key"]
    if field == "ciphertext":
        resource["ciphertext"] = "A" + resource["ciphertext"][1:]
    elif field == "nonce":
        resource["nonce"] = "Kj7QIyUiYx1r"
    elif field == "associated_data":
        resource["associated_data"] = "transaction"
    elif field == "key":
        key = "testMchAPIv3Key1"
    else:
        resource["algorithm"] = "AEAD_AES_128_CBC"
    with pytest.raises(InvalidSignature):
        wechat_format.decrypt_resource(resource, key)


def test_apiv3_keys_of_16_or_32_bytes_only() -> None:
    plain = {"a": 1}
    for key in ("0" * 16, "0" * 32):
        res = wechat_format.encrypt_resource(plain, key, "abcdefghijkl", "payscore")
        assert wechat_format.decrypt_resource(res, key) == plain
    with pytest.raises(InvalidSignature):
        wechat_format.apiv3_key_bytes("0" * 24)
