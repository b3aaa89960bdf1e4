"""Matching a provider's bill with our ledger (domain/reconciliation.py): by request number and signed amount,
whatever the order of the lines; every number lands in exactly one bucket."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.reconciliation import BillLine, match, unavailable

KINDS = st.sampled_from(["charge", "capture", "deposit", "refund"])
LINES = st.lists(
    st.builds(BillLine, st.from_regex(r"ord_[a-f]{2}_charge[1-3]", fullmatch=True), KINDS, st.integers(1, 10_000)),
    max_size=12,
)


def test_each_kind_of_difference_is_named_with_both_amounts():
    theirs = [
        BillLine("a_x_charge1", "charge", 100),
        BillLine("b_x_charge1", "charge", 50),
        BillLine("c_x_rfd1", "refund", 30),
    ]
    ours = [
        BillLine("a_x_charge1", "charge", 100),
        BillLine("b_x_charge1", "charge", 55),
        BillLine("d_x_rent", "capture", 70),
    ]
    report = match("sandbox", theirs, ours)
    assert report == {
        "provider": "sandbox",
        "status": "mismatched",
        "matched": 1,
        "only_provider": [{"out_request_no": "c_x_rfd1", "kind": "refund", "amount": 30}],
        "only_ours": [{"out_request_no": "d_x_rent", "kind": "capture", "amount": 70}],
        "amount_mismatch": [
            {"out_request_no": "b_x_charge1", "kind": "charge", "provider_amount": 50, "our_amount": 55}
        ],
    }


def test_money_in_and_money_out_never_cancel_into_a_match():
    """A refund of 100 on the bill against a charge of 100 with us is a difference, not a match."""
    report = match("alipay", [BillLine("n_x_rfd1", "refund", 100)], [BillLine("n_x_rfd1", "charge", 100)])
    assert report["status"] == "mismatched" and report["amount_mismatch"]


def test_an_empty_day_matches_and_an_unavailable_bill_says_why():
    assert match("wechat", [], [])["status"] == "matched"
    assert unavailable("wechat", "STATEMENT_CREATING") == {
        "provider": "wechat",
        "status": "unavailable",
        "matched": 0,
        "only_provider": [],
        "only_ours": [],
        "amount_mismatch": [],
        "reason": "STATEMENT_CREATING",
    }


@given(LINES, LINES, st.randoms())
def test_the_report_is_the_same_whatever_the_order_and_covers_every_number(theirs, ours, rnd):
    report = match("sandbox", theirs, ours)
    shuffled_theirs, shuffled_ours = list(theirs), list(ours)
    rnd.shuffle(shuffled_theirs)
    rnd.shuffle(shuffled_ours)
    assert match("sandbox", shuffled_theirs, shuffled_ours) == report
    buckets = [m["out_request_no"] for k in ("only_provider", "only_ours", "amount_mismatch") for m in report[k]]
    numbers = {line.out_request_no for line in theirs + ours}
    assert len(buckets) == len(set(buckets)) and report["matched"] + len(buckets) == len(numbers)
    assert (report["status"] == "matched") == (not buckets)
