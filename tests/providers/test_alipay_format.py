"""Alipay wire details: certificate serial numbers (checked against Alipay's own published values), request
numbers, text limits, and the notification sign content (empty values skipped, as AlipaySignature does)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from chalicelib.domain.errors import InvalidSignature
from chalicelib.providers import alipay_cert, alipay_format, keys
from tests.providers.fake_alipay_certs import CertSet, pem
from tests.providers.fakes import new_key

ANT = "Ant Financial Certification Authority"


def _cert(issuer_cn: str, serial: int) -> str:
    """A certificate with Alipay's issuer name and a given serial (only those two enter the SN)."""
    key = new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn),
        ]
    )
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return pem(cert)


# alipay-sdk-nodejs-all test/antcertutil.test.ts: its fixture certificates (issuer, serial) and their SNs.
@pytest.mark.parametrize(
    "issuer_cn, serial, expected",
    [
        (f"{ANT} Class 1 R1", 42701552708448241360226107228231049510, "866efef280dec9137a87d047ac446315"),
        (f"{ANT} Class 2 R1", 42701552432456004857627230056898180491, "7513daaaa48aa3ba2e4018d84402479c"),
        (f"{ANT} R1", 2292228364100439313, "687b59193f3f462dd5336e5abf83c5d8"),
    ],
)
def test_certificate_serial_numbers_match_alipays_published_ones(issuer_cn: str, serial: int, expected: str) -> None:
    assert alipay_cert.cert_sn(_cert(issuer_cn, serial)) == expected


def test_the_root_sn_counts_only_rsa_signed_certificates() -> None:
    certs = CertSet(new_key(), new_key(), new_key())
    chain = certs.root_chain_pem
    assert alipay_cert.root_cert_sn(chain) == certs.alipay_root_cert_sn == alipay_cert.cert_sn(pem(certs.root))
    assert "_" not in alipay_cert.root_cert_sn(chain)  # the EC root is skipped
    assert alipay_cert.root_cert_sn(pem(certs.root) + pem(certs.root)).count("_") == 1
    with pytest.raises(ValueError):
        alipay_cert.root_cert_sn(pem(certs.ec_root))


def test_request_numbers_are_letters_digits_underscores() -> None:
    assert alipay_format.wire_no("rt_0123456789abcdef0123_freeze") == "rt_0123456789abcdef0123_freeze"
    assert alipay_format.wire_no("rt_1-charge-1") == "rt_1_charge_1"
    assert len(alipay_format.wire_no("x" * 80)) == 64
    with pytest.raises(ValueError):
        alipay_format.wire_no("")


def test_text_limits_and_subjects() -> None:
    assert alipay_format.text_limit("租金" * 60, 100) == "租金" * 25
    assert alipay_format.text_limit("a" * 120, 100) == "a" * 100
    assert alipay_format.plain_subject("rent a/b=c&d") == "rent a b c d"
    with pytest.raises(ValueError):
        alipay_format.positive_yuan(0)


def test_a_notification_with_an_empty_value_verifies_as_alipay_signs_it() -> None:
    key = new_key()
    params = {
        "notify_id": "n1",
        "app_id": "2021",
        "charset": "utf-8",
        "out_biz_no": "",
        "trade_status": "TRADE_SUCCESS",
    }
    signed = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if v)  # getSignCheckContentV1
    params.update(sign_type="RSA2", sign=keys.sign(key, signed.encode()))
    alipay_format.verify_notification(params, key.public_key())
    params["trade_status"] = "TRADE_CLOSED"
    with pytest.raises(InvalidSignature):
        alipay_format.verify_notification(params, key.public_key())


def test_signed_node_returns_the_certificate_serial() -> None:
    raw = b'{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"alipay_cert_sn":"abc","sign":"s"}'
    node, source, sign, cert_sn = alipay_format.signed_node(raw, "alipay.trade.query")
    assert (node["code"], source, sign, cert_sn) == ("10000", '{"code":"10000","msg":"Success"}', "s", "abc")
