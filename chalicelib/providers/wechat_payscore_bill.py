"""WeChat Pay Score's merchant bill (商户申请获取对账单) for the daily reconciliation: the Pay Score orders'
collections of one Beijing day, one bill per service id, as lines named by our request numbers.

Request (payapp.weixin.qq.com/wiki/doc/apiv3/apis/chapter6_1_29.shtml, 2021.11.23; wechatpayv3 payscore.py
payscore_merchant_bill): GET /v3/payscore/merchant-bill?bill_date=yyyy-MM-DD (only the last three months)
&tar_type=GZIP&encryption_algorithm=AEAD_AES_256_GCM&service_id=<Pay Score service id>, all four required.
Answer (same page; field notes from wechatpay-java service/billdownload/model/EncryptBillEntity.java, the
same download_bill_count/download_bill_list shape): download_bill_count (the number of parts) and
download_bill_list[] of bill_sequence (from 1), download_url (https://api.mch.weixin.qq.com/v3/payscore/bill/
downloadurl?token=...), encrypt_key ("密钥用商户证书的公钥进行加密，然后进行Base64编码"), nonce ("加密账单文件
使用的随机字符串"), hash_type (SHA1, HashType.java) and hash_value ("原始账单（gzip需要解压缩）的摘要值").

Each part (pay.weixin.qq.com/docs/partner/apis/bill-download/download-sub-merchant-fund-bill.html): a GET of
download_url signed like any APIv3 request; the answer carries no WeChat signature, so it is not verified
(the hash and the GCM tag are its integrity); "需先解密、再解压": decrypt, then gunzip; parts are joined in
bill_sequence order. The key: encrypt_key decrypted with the merchant API private key, RSA-OAEP with SHA-1
and MGF1-SHA-1 (wechatpay-java core/cipher/RSAPrivacyDecryptor.java "RSA/ECB/OAEPWithSHA-1AndMGF1Padding",
read as UTF-8 text by AbstractPrivacyDecryptor.decrypt), then AEAD_AES_256_GCM over the file with that key
and the part's nonce as UTF-8 bytes, as WeChat's other GCM payloads (certificate-callback-decryption.html).

Not verifiable without a real merchant account (see the report of this change): the associated data (none
documented: empty here), whether the body is raw ciphertext+tag (read so) and whether every part is its own
gzip (read so: each part's hash is of its own uncompressed text), and the file's columns: no reference
describes them, so they are read by header name with the trade bill's vocabulary (wechat_bill.py) and a
file without a known header is refused (the report says `unavailable`, never a wrong match).
"""

from __future__ import annotations

import base64
import binascii
import csv
from datetime import date, datetime, timezone
from typing import Any, Iterable
from urllib.parse import urlencode

from ..clock import iso
from ..domain.errors import ProviderNotConfigured
from ..domain.reconciliation import BillLine
from . import ledger
from .base import BillUnavailable
from .wechat_bill import BEIJING_FORMAT, NOTHING_THAT_DAY, checked_text, download, our_lines, to_fen
from .wechat_format import BEIJING

PATH = "/v3/payscore/merchant-bill"
KEY_BYTES = 32  # AEAD_AES_256_GCM
# Column names, first one found wins (no reference: the trade bill's names, and Pay Score's own for the order).
NUMBER = ("商户服务订单号", "商户订单号")
AMOUNT = ("订单金额", "应结订单金额", "收款金额")
TIME, STATE, TRANSACTION_ID, SUMMARY_FIRST = "交易时间", "交易状态", "微信订单号", "总交易单数"


def services(settings: Any) -> list[str]:
    """The Pay Score service ids our orders are created under (a deposit and a pay-later one may be the same)."""
    ids = sorted({settings.wechat_deposit_service, settings.wechat_pay_later_service} - {""})
    if not ids:
        raise ProviderNotConfigured("wechat pay score is not configured (CREDITFIRST_WECHAT_SERVICE_ID)")
    return ids


def fetch(provider: Any, day: date) -> list[BillLine]:
    """Every service's merchant bill of Beijing day `day`, as lines named by our request numbers."""
    lines: list[BillLine] = []
    for service_id in services(provider.settings):
        text = _bill_text(provider, day, service_id)
        if text is not None:
            lines += parse(text, lambda number: ledger.recall(provider.deps.table, provider.name, number))
    return lines


def covered(provider: Any, ours: Iterable[BillLine]) -> list[BillLine]:
    """Which of our WeChat ledger lines this bill covers: charges (WechatProvider.charge completes a Pay Score
    order: there is no other WeChat charge) and captures of an object held by a Pay Score order (its
    `order-of-<id>` record, written at freeze), not a cash deposit's captures, deposits or refunds (the trade
    bill's). One GetItem per object with captures that day."""
    held: dict[str, bool] = {}
    lines = []
    for line in ours:
        if line.kind == "capture":
            owner = line.out_request_no.rsplit("_", 1)[0]  # request_numbers.number: <object id>_<purpose><n>
            if owner not in held:
                held[owner] = ledger.recall(provider.deps.table, provider.name, f"order-of-{owner}") is not None
            if held[owner]:
                lines.append(line)
        elif line.kind == "charge":
            lines.append(line)
    return lines


def _bill_text(provider: Any, day: date, service_id: str) -> str | None:
    query = urlencode(
        {
            "bill_date": day.isoformat(),  # chapter6_1_29: yyyy-MM-DD
            "tar_type": "GZIP",  # chapter6_1_29: the only value
            "encryption_algorithm": "AEAD_AES_256_GCM",  # chapter6_1_29: the only value
            "service_id": service_id,  # chapter6_1_29: 支付分服务ID
        }
    )
    status, answer = provider.client.call("GET", f"{PATH}?{query}")
    if status == 400 and answer.get("code") == NOTHING_THAT_DAY:
        return None  # no Pay Score money that day (the trade bill's code; not documented for this bill)
    if status >= 300:
        raise BillUnavailable(f"wechat pay score bill {day}: {answer.get('code') or status}")
    parts = answer.get("download_bill_list")
    if not isinstance(parts, list) or answer.get("download_bill_count") != len(parts) or not parts:
        raise BillUnavailable(f"wechat pay score bill {day}: download_bill_count does not match its list")
    try:
        ordered = sorted(parts, key=lambda part: int(part["bill_sequence"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BillUnavailable(f"wechat pay score bill {day}: a part without bill_sequence") from exc
    if [int(part["bill_sequence"]) for part in ordered] != list(range(1, len(ordered) + 1)):
        raise BillUnavailable(f"wechat pay score bill {day}: bill_sequence is not 1..{len(ordered)}")
    return "\n".join(_part(provider, day, part) for part in ordered)


def _part(provider: Any, day: date, part: dict) -> str:
    """One part: downloaded, decrypted, gunzipped, its SHA1 checked; the text."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    where = f"wechat pay score bill {day} part {part.get('bill_sequence')}"
    url, nonce, expected = part.get("download_url"), part.get("nonce"), part.get("hash_value")
    if not url or not nonce or not part.get("encrypt_key") or part.get("hash_type") != "SHA1" or not expected:
        raise BillUnavailable(f"{where}: download_url, encrypt_key, nonce or a SHA1 hash missing")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    try:
        key = provider.merchant_key().decrypt(base64.b64decode(part["encrypt_key"], validate=True), oaep)
    except (ValueError, binascii.Error) as exc:
        raise BillUnavailable(f"{where}: encrypt_key does not open with our private key") from exc
    if len(key) != KEY_BYTES:
        raise BillUnavailable(f"{where}: the bill key is not {KEY_BYTES} bytes")
    sealed = download(provider, str(url), where)
    try:
        packed = AESGCM(key).decrypt(str(nonce).encode(), sealed, None)
    except (InvalidTag, ValueError) as exc:
        raise BillUnavailable(f"{where}: the file fails its AES-GCM tag") from exc
    return checked_text(packed, str(expected), where, gzipped=True)  # "需先解密、再解压"


def _column(header: list[str], names: tuple[str, ...]) -> str | None:
    return next((name for name in names if name in header), None)


def parse(text: str, recall: Any) -> list[BillLine]:
    """The joined file: a header, rows with fields prefixed by '`', maybe a summary; a later part's repeated
    header is skipped. Collected rows (state SUCCESS, or no state column) become our lines; refund rows are
    left to the trade bill, which reconciles every refund once."""
    rows = [row for row in csv.reader(text.splitlines()) if row]
    if not rows:
        raise BillUnavailable("wechat pay score bill: an empty file")
    header = [h.strip().lstrip("\ufeff") for h in rows[0]]
    number_column, amount_column = _column(header, NUMBER), _column(header, AMOUNT)
    if not number_column or not amount_column:
        raise BillUnavailable("wechat pay score bill: the file has no known header")
    lines = []
    for values in rows[1:]:
        first = values[0].strip().lstrip("`")
        if first == SUMMARY_FIRST:
            break
        if [v.strip() for v in values] == header:
            continue  # the next part's header
        cell = {name: value.strip().lstrip("`").strip() for name, value in zip(header, values, strict=False)}
        if cell.get(STATE, "SUCCESS") != "SUCCESS":
            continue
        at = (
            iso(datetime.strptime(cell[TIME], BEIJING_FORMAT).replace(tzinfo=BEIJING).astimezone(timezone.utc))
            if cell.get(TIME)
            else ""
        )
        lines += [
            BillLine(number, kind, fen, at, cell.get(TRANSACTION_ID, ""))
            for number, kind, fen in our_lines(cell[number_column], to_fen(cell[amount_column]), recall)
        ]
    return lines
