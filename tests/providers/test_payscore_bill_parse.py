"""The Pay Score merchant bill's reader (providers/wechat_payscore_bill.parse): columns by header name, a later
part's repeated header skipped, refund rows left to the trade bill, the summary ends the rows, and a file with
no known header refused rather than read wrong."""

from __future__ import annotations

import pytest

from chalicelib.domain.reconciliation import BillLine
from chalicelib.providers.base import BillUnavailable
from chalicelib.providers.wechat_payscore_bill import parse

HEADER = "交易时间,服务ID,微信订单号,商户服务订单号,交易状态,订单金额"


def _nothing_recorded(number: str) -> None:
    return None


def test_rows_of_two_joined_parts_become_our_lines_and_refunds_and_the_summary_are_left_out() -> None:
    first = f"{HEADER}\r\n`2026-01-01 08:30:00,`s1,`4200001,`ord_a_charge1,`SUCCESS,`99.00\r\n"
    second = (
        f"{HEADER}\r\n`2026-01-01 09:00:00,`s1,`4200002,`ord_b_charge1,`REFUND,`10.00\r\n"
        "`2026-01-01 10:00:00,`s1,`4200003,`ord_c_charge1,`SUCCESS,`0.01\r\n总交易单数,订单总金额\r\n`3,`99.01\r\n"
    )
    assert parse(first + "\n" + second, _nothing_recorded) == [
        BillLine("ord_a_charge1", "charge", 9_900, "2026-01-01T00:30:00.000Z", "4200001"),
        BillLine("ord_c_charge1", "charge", 1, "2026-01-01T02:00:00.000Z", "4200003"),
    ]


def test_a_pay_score_collection_is_named_by_the_request_our_completion_was_for() -> None:
    records = {"complete-ord_a_charge1": {"for_request": "ord_a_charge1_c"}, "ord_a_charge1_c": {"kind": "charge"}}
    text = f"{HEADER}\r\n`2026-01-01 08:30:00,`s1,`4200001,`ord_a_charge1,`SUCCESS,`99.00\r\n"
    assert [(x.out_request_no, x.kind, x.amount) for x in parse(text, records.get)] == [
        ("ord_a_charge1_c", "charge", 9_900)
    ]


@pytest.mark.parametrize("text", ["", "交易时间,商品名称\r\n`2026-01-01 08:30:00,`x\r\n"])
def test_a_file_without_a_known_header_is_refused(text: str) -> None:
    with pytest.raises(BillUnavailable):
        parse(text, _nothing_recorded)


def test_an_amount_in_part_fen_is_refused() -> None:
    with pytest.raises(BillUnavailable, match="whole fen"):
        parse(f"{HEADER}\r\n`2026-01-01 08:30:00,`s1,`4200001,`ord_a,`SUCCESS,`0.001\r\n", _nothing_recorded)
