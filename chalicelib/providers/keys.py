"""RSA keys and SHA256withRSA (PKCS#1 v1.5) through `cryptography`: the only primitives both adapters use.

Keys come from configuration as PEM (private keys, public keys, X.509 certificates) or as Alipay's bare
base64 DER public key; `cryptography` is imported lazily so the app's cold import stays small.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any


def _pem_or_der(text: str, kind: str) -> bytes:
    """Alipay hands out keys as one base64 line; wrap it as PEM so one loader serves both forms."""
    text = text.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        return text.encode()
    body = "".join(text.split())
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----\n".encode()


def load_private_key(text: str) -> Any:
    """A merchant RSA private key (PKCS#8 or PKCS#1 PEM, or bare base64 PKCS#8)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(_pem_or_der(text, "PRIVATE KEY"), password=None)


def load_public_key(text: str) -> Any:
    """A provider public key: PEM public key, X.509 certificate, or bare base64 DER (Alipay's form)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pem = _pem_or_der(text, "PUBLIC KEY")
    if b"CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return load_pem_public_key(pem)


def certificate_serial(pem: str) -> str:
    """The upper-case hex serial WeChat Pay puts in Wechatpay-Serial for a platform certificate."""
    from cryptography import x509

    return format(x509.load_pem_x509_certificate(_pem_or_der(pem, "CERTIFICATE")).serial_number, "X")


def sign(private_key: Any, message: bytes) -> str:
    """SHA256withRSA, PKCS#1 v1.5, base64 (what both Alipay RSA2 and WeChat Pay v3 expect)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_key: Any, message: bytes, signature_b64: str) -> bool:
    """True only for a valid SHA256withRSA signature; malformed base64 is simply invalid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False
