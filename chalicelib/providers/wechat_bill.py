"""WeChat Pay's daily trade bill for the reconciliation (domain/reconciliation.py).

Request: GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL&tar_type=GZIP (minibear2021/wechatpayv3
wechatpayv3/transaction.py trade_bill: bill_date, bill_type default ALL, tar_type GZIP). Answer: download_url
(valid 30 s), hash_type (SHA1) and hash_value, "原始账单（gzip需要解压缩）的摘要值" - the digest of the file
after decompression (essensoft/paylink V3/Response/WeChatPayBillTradeBillResponse.cs). No bill: 400
NO_STATEMENT_EXIST (no trade or refund that day) or STATEMENT_CREATING (not generated yet, "T+1日上午8点后")
(gabinlin/wx-pay-profits-sharing response/pay/bill/BillOfTradeResponse.java error table).
Download: a signed GET of download_url whose answer is the file itself, not a signed JSON (wechatpayv3
transaction.py download_bill: request(path, skip_verify=True)); its integrity is the SHA1 checked here.

The file: a header row, then one row per trade or refund with every field prefixed by '`', then the summary
header (总交易单数, ...) and its row. Columns are read by name from the header (public bill parsers list them:
交易时间, ..., 商户订单号, ..., 交易状态 SUCCESS|REFUND|..., 应结订单金额, ..., 商户退款单号, 退款金额, ...,
退款状态, ..., 订单金额, 申请退款金额); amounts in yuan, times in Beijing time.

The Pay Score merchant bill (GET /v3/payscore/merchant-bill) is read by wechat_payscore_bill.py with the
same mapping of a collection to our request numbers (our_lines).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import hmac
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..clock import iso
from ..domain.reconciliation import BillLine
from . import ledger
from .base import BillUnavailable
from .wechat_format import BEIJING

NOTHING_THAT_DAY = "NO_STATEMENT_EXIST"
TIME, OUT_TRADE_NO, STATE, OUT_REFUND_NO = "交易时间", "商户订单号", "交易状态", "商户退款单号"
ORDER_AMOUNT, SETTLED_AMOUNT, REFUND_AMOUNT, REFUND_STATE = "订单金额", "应结订单金额", "退款金额", "退款状态"
TRANSACTION_ID = "微信订单号"
SUMMARY_FIRST = "总交易单数"
BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"


def fetch(provider: Any, day: date) -> list[BillLine]:
    """The trade bill of Beijing day `day` as lines named by our request numbers."""
    status, answer = provider.client.call(
        "GET", f"/v3/bill/tradebill?bill_date={day.isoformat()}&bill_type=ALL&tar_type=GZIP"
    )
    if status == 400 and answer.get("code") == NOTHING_THAT_DAY:
        return []  # no trade and no refund that day: an empty bill, to match with an empty ledger
    if status >= 300:
        raise BillUnavailable(f"wechat bill {day}: {answer.get('code') or status}")
    url, hash_type, expected = answer.get("download_url"), answer.get("hash_type"), answer.get("hash_value")
    if not url or hash_type != "SHA1" or not expected:
        raise BillUnavailable(f"wechat bill {day}: no download_url or an unknown hash_type {hash_type!r}")
    where = f"wechat bill {day}"
    raw = download(provider, url, where)
    text = checked_text(raw, str(expected), where, gzipped=raw[:2] == b"\x1f\x8b")  # tar_type GZIP
    return parse(text, lambda number: ledger.recall(provider.deps.table, provider.name, number))


def download(provider: Any, url: str, where: str) -> bytes:
    """A bill file at its download_url: a signed APIv3 GET whose answer carries no signature to check."""
    split = urlsplit(url)
    resp, _ = provider.client.raw("GET", split.path + (f"?{split.query}" if split.query else ""))
    if resp.status != 200:
        raise BillUnavailable(f"{where}: download answered HTTP {resp.status}")
    return bytes(resp.body)


def checked_text(raw: bytes, expected: str, where: str, gzipped: bool) -> str:
    """The bill's text, gunzipped first when `gzipped`: the SHA1 WeChat gives is of the file inside."""
    if gzipped:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BillUnavailable(f"{where}: a broken gzip") from exc
    if not hmac.compare_digest(hashlib.sha1(raw).hexdigest(), expected.lower()):  # noqa: S324 - WeChat's own
        raise BillUnavailable(f"{where}: the file fails its SHA1 check")
    return raw.decode("utf-8-sig")


def to_fen(text: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text or "0") * 100
    except InvalidOperation as exc:
        raise BillUnavailable(f"wechat bill: not an amount {text!r}") from exc
    if value != value.to_integral_value():
        raise BillUnavailable(f"wechat bill: not a whole fen {text!r}")
    return abs(int(value))


def our_lines(number: str, amount: int, recall: Any) -> list[tuple[str, str, int]]:
    """(our request number, kind, fen) behind a trade's out_trade_no: a cash deposit (JSAPI, our number), or a
    Pay Score order's collection (the completion we sent, for our charge, or for a rental's settlement: one
    collection of every line, split back into the lines' own numbers when it took exactly their sum)."""
    op = recall(number)
    if op and op.get("kind") == "deposit":
        return [(str(op.get("of") or number), "deposit", amount)]
    completion = recall(f"complete-{number}")
    if completion and completion.get("for_request"):
        request = str(completion["for_request"])
        ours = recall(request) or {}
        if ours.get("kind") == "charge":
            return [(request, "charge", amount)]
        lines = ours.get("lines") or []
        if lines and sum(int(line["amount"]) for line in lines) == amount:
            return [(str(line["no"]), "capture", int(line["amount"])) for line in lines]
        return [(request, "capture", amount)]
    return [(number, "charge", amount)]


def parse(text: str, recall: Any) -> list[BillLine]:
    rows = text.splitlines()
    if not rows:
        raise BillUnavailable("wechat bill: an empty file")
    header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([rows[0]]))]
    if not {TIME, OUT_TRADE_NO, STATE, OUT_REFUND_NO, REFUND_AMOUNT} <= set(header) or not (
        {ORDER_AMOUNT, SETTLED_AMOUNT} & set(header)
    ):
        raise BillUnavailable("wechat bill: the file has no known header")
    amount_column = ORDER_AMOUNT if ORDER_AMOUNT in header else SETTLED_AMOUNT
    lines = []
    for values in csv.reader(rows[1:]):
        if not values or values[0].strip().lstrip("`") == SUMMARY_FIRST:
            break  # the summary follows the rows
        cell = {name: value.strip().lstrip("`").strip() for name, value in zip(header, values, strict=False)}
        at = (
            iso(datetime.strptime(cell[TIME], BEIJING_FORMAT).replace(tzinfo=BEIJING).astimezone(timezone.utc))
            if cell.get(TIME)
            else ""
        )
        if cell[STATE] == "SUCCESS":
            lines += [
                BillLine(number, kind, fen, at, cell.get(TRANSACTION_ID, ""))
                for number, kind, fen in our_lines(cell[OUT_TRADE_NO], to_fen(cell[amount_column]), recall)
            ]
        elif cell[STATE] == "REFUND" and cell.get(REFUND_STATE, "SUCCESS") == "SUCCESS":
            lines.append(
                BillLine(cell[OUT_REFUND_NO], "refund", to_fen(cell[REFUND_AMOUNT]), at, cell.get(TRANSACTION_ID, ""))
            )
    return lines
