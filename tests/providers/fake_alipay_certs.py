"""Certificates for the fake's certificate mode: a root chain (an RSA root Alipay counts and an EC root it skips),
the merchant's app certificate and Alipay's public certificate, issued the way Alipay's are.

Serial numbers computed here on their own, from alipay-sdk-java-all internal/util/AntCertificationUtil.java:
getCertSN = md5(issuer RFC 2253 name + decimal serial), lower-case hex; getRootCertSN = the SNs of the
certificates whose signature algorithm OID starts 1.2.840.113549.1.1, joined with '_'.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RSA_SIG_PREFIX = "1.2.840.113549.1.1"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(subject: str, issuer: str, public: Any, signer: Any, serial: int) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(signer, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def sn(cert: x509.Certificate) -> str:
    return hashlib.md5((cert.issuer.rfc4514_string() + str(cert.serial_number)).encode()).hexdigest()  # noqa: S324


class CertSet:
    """root chain + app cert (merchant key) + Alipay cert (Alipay key), with the SNs Alipay would expect."""

    def __init__(self, merchant_key: Any, alipay_key: Any, ca_key: Any) -> None:
        ec_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert(
            "Ant Financial Certification Authority R1",
            "Ant Financial Certification Authority R1",
            ca_key.public_key(),
            ca_key,
            2292228364100439313,
        )
        self.ec_root = _cert(
            "Ant Financial Certification Authority E1",
            "Ant Financial Certification Authority E1",
            ec_key.public_key(),
            ec_key,
            4242,
        )
        self.app = _cert(
            "2021000000000001",
            "Ant Financial Certification Authority R1",
            merchant_key.public_key(),
            ca_key,
            42701552708448241360226107228231049510,
        )
        self.alipay = _cert(
            "Alipay public key",
            "Ant Financial Certification Authority R1",
            alipay_key.public_key(),
            ca_key,
            42701552432456004857627230056898180491,
        )
        self.root_chain_pem = pem(self.root) + pem(self.ec_root)
        self.app_cert_sn = sn(self.app)
        self.alipay_cert_sn = sn(self.alipay)
        self.alipay_root_cert_sn = "_".join(
            sn(c)
            for c in (self.root, self.ec_root)
            if c.signature_algorithm_oid.dotted_string.startswith(RSA_SIG_PREFIX)
        )

    def env(self) -> dict[str, str]:
        return {
            "CREDITFIRST_ALIPAY_APP_CERT": pem(self.app),
            "CREDITFIRST_ALIPAY_PUBLIC_CERT": pem(self.alipay),
            "CREDITFIRST_ALIPAY_ROOT_CERT": self.root_chain_pem,
        }
