"""Alipay public-key certificate mode (公钥证书模式): certificate serial numbers and keys from the merchant's
configured certificates (app cert, Alipay public cert, Alipay root cert chain), PEM text from settings.

The serial number Alipay names a certificate by is MD5(issuer DN + decimal serial), lower-case hex:
alipay-sdk-java-all internal/util/AntCertificationUtil.java getCertSN (issuer via
getIssuerX500Principal().getName(), i.e. RFC 2253, most specific attribute first) and getRootCertSN (only the
certificates signed with an RSA algorithm, OID 1.2.840.113549.1.1.*, joined with '_'). Checked here against
alipay-sdk-nodejs-all test/antcertutil.test.ts: its fixtures give 866efef280dec9137a87d047ac446315 (app cert),
7513daaaa48aa3ba2e4018d84402479c (Alipay cert) and 687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6
(root chain) with this code.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.S)
# DER of the OID prefix 1.2.840.113549.1.1 (PKCS#1 signature algorithms): 2A 86 48 86 F7 0D 01 01
RSA_SIGNATURE_OID = bytes.fromhex("2a864886f70d0101")


def _blocks(pem_text: str) -> list[bytes]:
    text = pem_text.replace("\\n", "\n")
    return [base64.b64decode("".join(body.split())) for body in PEM_BLOCK.findall(text)]


def _load(der: bytes) -> Any:
    from cryptography import x509

    return x509.load_der_x509_certificate(der)


def _sn(cert: Any) -> str:
    issuer = cert.issuer.rfc4514_string()  # RFC 4514 == Java's RFC 2253 form for the CN/OU/O/C Alipay uses
    return hashlib.md5((issuer + str(cert.serial_number)).encode("utf-8")).hexdigest()  # noqa: S324 - Alipay's id


def cert_sn(pem_text: str) -> str:
    """app_cert_sn / alipay_cert_sn of one certificate (the first in the text)."""
    blocks = _blocks(pem_text)
    if not blocks:
        raise ValueError("no certificate in the configured text")
    return _sn(_load(blocks[0]))


def _signed_with_rsa(der: bytes) -> bool:
    """The outer signatureAlgorithm of a DER certificate is PKCS#1 RSA: read from the DER itself, because the
    root chain also holds certificates (SM2, ECC) that `cryptography` cannot load and Alipay skips anyway."""

    def header(at: int) -> tuple[int, int]:  # (content start, content length) of the TLV at `at`
        first = der[at + 1]
        if first < 0x80:
            return at + 2, first
        size = first & 0x7F
        return at + 2 + size, int.from_bytes(der[at + 2 : at + 2 + size], "big")

    body, _ = header(0)  # Certificate SEQUENCE
    tbs_start, tbs_len = header(body)  # tbsCertificate SEQUENCE
    alg_start, _ = header(tbs_start + tbs_len)  # signatureAlgorithm SEQUENCE
    oid_start, oid_len = header(alg_start)  # its OBJECT IDENTIFIER
    return der[oid_start : oid_start + oid_len].startswith(RSA_SIGNATURE_OID)


def root_cert_sn(pem_text: str) -> str:
    """alipay_root_cert_sn: the SNs of the RSA-signed certificates of the root chain, joined with '_'."""
    sns = [_sn(_load(der)) for der in _blocks(pem_text) if _signed_with_rsa(der)]
    if not sns:
        raise ValueError("no RSA certificate in the configured Alipay root certificate chain")
    return "_".join(sns)


def public_key(pem_text: str) -> Any:
    """The public key inside a certificate (the Alipay public certificate verifies answers and notifications)."""
    blocks = _blocks(pem_text)
    if not blocks:
        raise ValueError("no certificate in the configured text")
    return _load(blocks[0]).public_key()
