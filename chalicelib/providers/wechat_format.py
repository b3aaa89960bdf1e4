"""WeChat Pay APIv3 wire format: the request Authorization header, signed answers and notifications,
and AEAD_AES_256_GCM resources. Pure functions over bytes, testable against WeChat's own vectors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from ..domain.errors import InvalidSignature
from . import keys

SCHEMA = "WECHATPAY2-SHA256-RSA2048"
SIGNTEST_PREFIX = "WECHATPAY/SIGNTEST/"
WINDOW_SECONDS = 300
BEIJING = timezone(timedelta(hours=8))


def request_message(method: str, path_with_query: str, timestamp: str, nonce: str, body: str) -> bytes:
    """What the merchant signs: method, URL path (with query), timestamp, nonce, body, each line ended."""
    return f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n".encode("utf-8")


def authorization(
    mch_id: str, serial: str, private_key: Any, method: str, path_with_query: str, timestamp: str, nonce: str, body: str
) -> str:
    """The `Authorization` header of one v3 request."""
    signature = keys.sign(private_key, request_message(method, path_with_query, timestamp, nonce, body))
    return (
        f'{SCHEMA} mchid="{mch_id}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial}"'
    )


def verify_signed(headers: Mapping[str, str], body: bytes, public_keys: Mapping[str, Any], now: datetime) -> None:
    """Check `timestamp\\nnonce\\nbody\\n` against the key named by Wechatpay-Serial; raises InvalidSignature.

    Used for both answers and notifications: SIGNTEST probes and stale or future timestamps are refused
    before any key is touched.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    ts, nonce = lower.get("wechatpay-timestamp", ""), lower.get("wechatpay-nonce", "")
    signature, serial = lower.get("wechatpay-signature", ""), lower.get("wechatpay-serial", "")
    if not (ts and nonce and signature and serial):
        raise InvalidSignature("wechat pay signature headers missing")
    if signature.startswith(SIGNTEST_PREFIX):
        raise InvalidSignature("wechat pay signature probe (SIGNTEST) refused")
    if not ts.isdigit() or abs(now.timestamp() - int(ts)) > WINDOW_SECONDS:
        raise InvalidSignature("wechat pay timestamp outside the 5-minute window")
    key = public_keys.get(serial.strip().upper())
    if key is None:
        raise InvalidSignature("wechat pay serial not one of our platform keys")
    if not keys.verify(key, f"{ts}\n{nonce}\n".encode("utf-8") + body + b"\n", signature):
        raise InvalidSignature("bad wechat pay signature")


def apiv3_key_bytes(apiv3_key: str) -> bytes:
    """The APIv3 key as AES key bytes: 32 in production (AES-256), 16 accepted (WeChat's test vectors)."""
    raw = apiv3_key.encode("utf-8")
    if len(raw) not in (16, 32):
        raise InvalidSignature("wechat pay APIv3 key must be 16 or 32 bytes")
    return raw


def decrypt_resource(resource: Mapping[str, Any], apiv3_key: str) -> dict:
    """AEAD_AES_256_GCM: the tag authenticates ciphertext and associated_data; a bad tag is a forgery."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise InvalidSignature("wechat pay resource uses an unknown algorithm")
    try:
        ciphertext = base64.b64decode(str(resource.get("ciphertext", "")), validate=True)
        plain = AESGCM(apiv3_key_bytes(apiv3_key)).decrypt(
            str(resource.get("nonce", "")).encode(),
            ciphertext,
            str(resource.get("associated_data", "")).encode() or None,
        )
        return json.loads(plain)
    except (InvalidTag, ValueError) as exc:
        raise InvalidSignature("wechat pay resource does not decrypt") from exc


def encrypt_resource(plain: dict, apiv3_key: str, nonce: str, associated_data: str) -> dict:
    """The inverse of decrypt_resource (local fake gateway and tests)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = AESGCM(apiv3_key_bytes(apiv3_key)).encrypt(
        nonce.encode(), json.dumps(plain).encode(), associated_data.encode()
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(data).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
        "original_type": associated_data,
    }


def apiv2_sign(params: Mapping[str, str], apiv2_key: str) -> str:
    """HMAC-SHA256 `sign` of APIv2 parameters: non-empty params sorted by name as k=v&..., then `&key=<key>`,
    HMAC-SHA256 keyed by the APIv2 key, upper-case hex (pay.weixin.qq.com/wiki/doc/api/wxa/wxa_api.php?chapter=4_3
    安全规范 签名算法; used by wx.openBusinessView wxpayScoreUse extraData, docs weixin-pay-score/applets-confirm)."""
    if not apiv2_key:
        raise ValueError("the APIv2 key is not configured")
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in ("", None))
    message = f"{text}&key={apiv2_key}".encode("utf-8")
    return hmac.new(apiv2_key.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()


def wechat_time(at: datetime) -> str:
    """Pay Score times are Beijing time `yyyyMMddHHmmss` (essensoft/paylink V3/Domain/TimeRange.cs)."""
    return at.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def from_wechat_time(text: str) -> datetime:
    """The inverse of wechat_time (also `yyyyMMdd`, midnight Beijing time)."""
    fmt = "%Y%m%d%H%M%S" if len(text) == 14 else "%Y%m%d"
    return datetime.strptime(text, fmt).replace(tzinfo=BEIJING).astimezone(timezone.utc)
