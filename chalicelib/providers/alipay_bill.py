"""Alipay's daily trade bill for the reconciliation (domain/reconciliation.py).

Request: alipay.data.dataservice.bill.downloadurl.query, biz_content {bill_type, bill_date}
(alipay-sdk-java-all v2 domain/AlipayDataDataserviceBillDownloadurlQueryModel.java: bill_type "trade" = the
merchant's acquiring business bill; bill_date yyyy-MM-dd, only days before today (T+1), "一般于次日 9 点前生成").
Answer: bill_download_url (valid 30 s) and bill_file_code (EMPTY_DATA_WITH_BILL_FILE: no business that day)
(v2 response/AlipayDataDataserviceBillDownloadurlQueryResponse.java); a bill not generated yet answers
sub_code isp.bill_not_exist (public clients test for it, e.g. BillDownloadUrlQueryResponse.IsBillNotExist).

The file: a zip holding "<pid>_<yyyyMMdd>_业务明细.csv" (and "..._业务明细(汇总).csv"), GBK, comment lines starting
with '#', then a header row and 25 columns per row, values ending in a tab (public bill parsers agree on this
layout: 支付宝交易号, 商户订单号, 业务类型 交易|退款, ..., 完成时间, ..., 订单金额（元）, ..., 退款批次号/请求号, ...).
No official schema of the file is published in an SDK: the column names are read from the header row, not
from positions, and a file without them is refused (BillUnavailable) rather than misread.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timezone
from typing import Any

from ..clock import iso
from ..domain.reconciliation import BillLine
from . import alipay_format as fmt
from . import ledger
from .base import BillUnavailable

METHOD = "alipay.data.dataservice.bill.downloadurl.query"
NOT_GENERATED = {"isp.bill_not_exist"}
DETAIL_SUFFIX = "业务明细.csv"
OUT_TRADE_NO, KIND, FINISHED, AMOUNT, REQUEST_NO = (
    "商户订单号",
    "业务类型",
    "完成时间",
    "订单金额（元）",
    "退款批次号/请求号",
)
TRADE_NO = "支付宝交易号"
TRADE, REFUND = "交易", "退款"
MAX_BYTES = 50 * 1024 * 1024


def fetch(provider: Any, day: date) -> list[BillLine]:
    """The trade bill of Beijing day `day` as lines named by our request numbers."""
    node = provider.call(
        METHOD,
        {
            "bill_type": "trade",  # Model.java bill_type: trade = 收单业务账单
            "bill_date": day.isoformat(),  # Model.java bill_date: yyyy-MM-dd
        },
    )
    if node.get("code") != "10000":
        raise BillUnavailable(f"alipay bill {day}: {node.get('sub_code') or node.get('code')}")
    url = node.get("bill_download_url")  # Response.java bill_download_url
    if not url:
        raise BillUnavailable(f"alipay bill {day}: no bill_download_url")
    resp = provider.client._send("GET", url, None, {})
    if resp.status != 200:
        raise BillUnavailable(f"alipay bill {day}: download answered HTTP {resp.status}")
    return parse(resp.body, lambda wire: ledger.recall(provider.deps.table, provider.name, provider.ours(wire)))


def _detail_text(raw: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise BillUnavailable("alipay bill: the download is not a zip") from exc
    for info in archive.infolist():
        name = info.filename
        if not info.flag_bits & 0x800:  # names without the UTF-8 flag are GBK bytes read as cp437
            name = name.encode("cp437").decode("gb18030", errors="replace")
        if name.endswith(DETAIL_SUFFIX):
            if info.file_size > MAX_BYTES:
                raise BillUnavailable("alipay bill: the detail file is too large")
            return archive.read(info).decode("gb18030")
    raise BillUnavailable("alipay bill: no 业务明细.csv in the zip")


def parse(raw: bytes, recall: Any) -> list[BillLine]:
    """Lines of the business-detail CSV: 交易 (a payment: its 商户订单号 is our number) and 退款 (its
    退款批次号/请求号 is our refund number). Amounts in yuan -> fen; 完成时间 is Beijing time."""
    rows = [line for line in _detail_text(raw).splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(rows)))
    header = [h.strip() for h in reader.fieldnames or []]
    if not {OUT_TRADE_NO, KIND, FINISHED, AMOUNT, REQUEST_NO} <= set(header):
        raise BillUnavailable("alipay bill: the detail file has no known header")
    reader.fieldnames = header
    lines = []
    for row in reader:
        cell = {k: (v or "").strip().rstrip("\t").strip() for k, v in row.items() if k}
        kind, amount = cell[KIND], fmt.fen(cell[AMOUNT].lstrip("-"))
        finished = fmt.from_beijing(cell[FINISHED])
        at = iso(finished.astimezone(timezone.utc)) if finished else ""
        if kind == TRADE:
            op = recall(cell[OUT_TRADE_NO])
            ours = op.get("kind") if op and op.get("kind") in ("charge", "capture", "deposit") else "charge"
            lines.append(
                BillLine(
                    op["out_request_no"] if op else cell[OUT_TRADE_NO], ours, amount or 0, at, cell.get(TRADE_NO, "")
                )
            )
        elif kind == REFUND:
            number = cell[REQUEST_NO] or cell[OUT_TRADE_NO]
            op = recall(number)
            lines.append(
                BillLine(op["out_request_no"] if op else number, "refund", amount or 0, at, cell.get(TRADE_NO, ""))
            )
    return lines
