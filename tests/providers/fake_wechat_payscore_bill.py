"""The strict fake's Pay Score merchant bill (rules PAYSCORE_BILL, PAYSCORE_BILL_DOWNLOAD in fake_wechat_rules.py).

GET /v3/payscore/merchant-bill answers download_bill_count and download_bill_list[] (bill_sequence,
download_url .../v3/payscore/bill/downloadurl?token=, encrypt_key, nonce, hash_type, hash_value), from
payapp.weixin.qq.com/wiki/doc/apiv3/apis/chapter6_1_29.shtml and wechatpay-java EncryptBillEntity.java. Each
part is the bill's text gzipped, then AEAD_AES_256_GCM-encrypted under a fresh 32-character key with a
12-character nonce; the key travels RSA-OAEP(SHA-1) encrypted to the merchant certificate's public key
(RSAPrivacyDecryptor.java's transformation). The file's columns are this project's assumption (no reference
describes them): the trade bill's layout, with Pay Score's 商户服务订单号 for the order number.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import secrets
from datetime import datetime
from typing import Any, Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.providers import fake_wechat_rules as r
from tests.providers.fake_wechat_orders import BEIJING
from tests.providers.fake_wechat_rules import Refusal, param_error

HEADER = ["交易时间", "服务ID", "微信订单号", "商户服务订单号", "交易状态", "订单金额"]
SUMMARY = ["总交易单数", "订单总金额"]


class PayScoreBillEndpoints:
    """Mixin of FakeWechat: the Pay Score merchant bill and its encrypted parts (each served once)."""

    services: dict[str, dict]
    orders: dict[str, dict]
    transactions: dict[str, dict]
    merchant_key: Any
    now: Callable[[], int]
    service_bill_files: dict[str, bytes]  # download token -> one encrypted part
    service_bill_parts: int  # how many parts a bill is split into (WeChat splits very large files)

    def merchant_bill(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(query, r.PAYSCORE_BILL_FIELDS)
        for name in sorted(r.PAYSCORE_BILL_FIELDS):
            if not query.get(name):
                raise param_error("PAYSCORE_BILL", f"{name} is required")
        day = query["bill_date"]
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", day):
            raise param_error("PAYSCORE_BILL", "bill_date: yyyy-MM-DD")
        if query["tar_type"] != "GZIP" or query["encryption_algorithm"] != "AEAD_AES_256_GCM":
            raise param_error("PAYSCORE_BILL", "tar_type GZIP, encryption_algorithm AEAD_AES_256_GCM")
        if query["service_id"] not in self.services:
            raise Refusal(403, "NO_AUTH", "service_id has no Pay Score permission", "SERVICE")
        if day >= datetime.fromtimestamp(self.now(), tz=BEIJING).date().isoformat():
            raise Refusal(400, "STATEMENT_CREATING", "账单生成中")
        rows = self.service_bill_rows(day, query["service_id"])
        if not rows:
            raise Refusal(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        chunks = _split(rows, max(1, self.service_bill_parts))
        chunks[0].insert(0, ",".join(HEADER))
        chunks[-1] += [",".join(SUMMARY), f"`{len(rows)},`0.00"]
        parts = [self._encrypted_part(seq, "\r\n".join(chunk) + "\r\n") for seq, chunk in enumerate(chunks, 1)]
        return 200, {"download_bill_count": len(parts), "download_bill_list": parts}

    def service_bill_rows(self, day: str, service_id: str) -> list[str]:
        """One row per Pay Score collection of `service_id` on Beijing day `day` (fields prefixed by '`')."""
        rows = []
        for tx, t in self.transactions.items():
            order = self.orders.get(t.get("out_order_no", ""))
            at = datetime.fromtimestamp(t.get("at", 0), tz=BEIJING)
            if order is None or order["service_id"] != service_id or at.date().isoformat() != day:
                continue
            values = [at.strftime("%Y-%m-%d %H:%M:%S"), service_id, tx, t["out_order_no"], "SUCCESS"]
            rows.append(",".join("`" + v for v in [*values, f"{t['total'] / 100:.2f}"]))
        return rows

    def _encrypted_part(self, seq: int, text: str) -> dict:
        key, nonce = secrets.token_hex(16), secrets.token_hex(6)  # 32 and 12 characters
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
        token = f"s{len(self.service_bill_files) + 1}"
        self.service_bill_files[token] = AESGCM(key.encode()).encrypt(
            nonce.encode(), gzip.compress(text.encode()), None
        )
        return {
            "bill_sequence": seq,
            "download_url": f"{getattr(self, 'url', '')}/v3/payscore/bill/downloadurl?token={token}",
            "encrypt_key": base64.b64encode(self.merchant_key.public_key().encrypt(key.encode(), oaep)).decode(),
            "nonce": nonce,
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324 - WeChat's own
        }


def _split(rows: list[str], parts: int) -> list[list[str]]:
    size = -(-len(rows) // parts)
    return [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
