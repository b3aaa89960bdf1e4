"""The drop bench's structure counts and its replay on W workers follow their stated rules, checked on a
small hand-built trace whose answers are worked out by hand (a model's figures are only worth its rules)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bench.drop_structure import PageTrace, item_size, replay, structure

RTT = 0.01
QUEUE_URL = "http://sqs/queue/bench-coupon-drops"


def _call(trace: PageTrace, op: str, params: dict) -> None:
    trace._record(params=params, model=SimpleNamespace(name=op))


def _put(pk: str, sk: str) -> dict:
    return {"Put": {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": sk}}}}


def _chains(chains: int, length: int, shared_item: bool = False) -> PageTrace:
    """`chains` shards of `length` pages; a page: Query, SendMessage of the next (not on the last page),
    one transaction with its coupon and an audit entry in the drop's one audit partition."""
    trace = PageTrace("coupon-drops")
    with trace.drop():
        _call(trace, "GetItem", {"Key": {"pk": {"S": "DROP#credit_day#2026-12"}}})
    for shard in range(chains):
        for i in range(length):
            body = {"tier": "gold", "shard": shard, "after": f"m{i:03d}" if i else None}
            with trace.page(body):
                _call(trace, "GetItem", {"Key": {"pk": {"S": "CLOCK"}, "sk": {"S": "CLOCK"}}})  # not the drop's
                _call(trace, "Query", {})
                if i + 1 < length:
                    nxt = json.dumps({**body, "after": f"m{i + 1:03d}"})
                    _call(trace, "SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": nxt})
                coupon = "COUPON#shared" if shared_item else f"COUPON#{shard}-{i}"
                _call(
                    trace,
                    "TransactWriteItems",
                    {"TransactItems": [_put(coupon, "COUPON"), _put("AUDIT#drop", f"{shard}-{i}")]},
                )
    return trace


def test_counts_pages_chains_and_the_critical_path():
    shape = structure(_chains(chains=2, length=3))
    assert shape["pages"] == 6 and shape["chains"] == 2 and shape["longest_chain_pages"] == 3
    # per page: receive, Query, SendMessage, TransactWriteItems, delete = 5 (the last page: 4); + the drop's GetItem
    assert shape["round_trips"] == 1 + 2 * (5 + 5 + 4)
    assert shape["round_trips_per_page_max"] == 5
    # the drop, then receive..SendMessage (3) twice, then the last page whole (4)
    assert shape["critical_path_round_trips"] == 1 + 3 + 3 + 4


def test_names_what_two_pages_share():
    shape = structure(_chains(chains=2, length=3))
    assert shape["items_written_by_two_pages"] == 0
    assert shape["partition_keys_written_by_two_pages"] == {"AUDIT#drop": 6}
    assert structure(_chains(chains=2, length=3, shared_item=True))["items_written_by_two_pages"] == 1


def test_one_worker_runs_every_round_trip_one_after_another():
    assert replay(_chains(chains=2, length=3), workers=1, rtt=RTT)["seconds"] == pytest.approx(29 * RTT)


def test_a_worker_per_chain_runs_the_chains_side_by_side():
    # in rtt: the drop to 1; heads 1-6; second pages (receivable at 4) 6-11; last pages (receivable at 9) 11-15
    assert replay(_chains(chains=2, length=3), workers=2, rtt=RTT)["seconds"] == pytest.approx(15 * RTT)


def test_enough_workers_reach_the_critical_path_and_no_further():
    trace = _chains(chains=2, length=3)
    critical = structure(trace)["critical_path_round_trips"] * RTT
    assert replay(trace, workers=4, rtt=RTT)["seconds"] == pytest.approx(critical)
    assert replay(trace, workers=8, rtt=RTT)["seconds"] == pytest.approx(critical)


def test_the_hottest_partition_is_the_shared_one_at_its_transactional_write_units():
    out = replay(_chains(chains=2, length=3), workers=1, rtt=RTT)
    assert out["hottest_partition"] == "AUDIT#drop"
    assert out["hottest_wcu_per_s"] == round(6 * 2 / (29 * RTT))  # six 1 KB transactional writes in 0.29 s


def test_item_size_follows_dynamodbs_rules():
    assert item_size({"pk": {"S": "COUPON#1"}}) == 2 + 8
    assert item_size({"n": {"N": "12345"}}) == 1 + 3  # 5 digits: 3 bytes
    assert item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + (1 + 1 + 2)
    assert item_size({"l": {"L": [{"BOOL": True}]}}) == 1 + 3 + (1 + 1)


def test_slower_transactions_lengthen_the_pages_but_not_the_chain_steps():
    trace = _chains(chains=2, length=3)
    # one worker: the six transactions take 3 rtt each instead of 1
    assert replay(trace, workers=1, rtt=RTT, txn_rtt=3 * RTT)["seconds"] == pytest.approx((29 + 6 * 2) * RTT)
    # a worker for every page: a chain step (receive, Query, SendMessage) holds no transaction, so only the
    # last page's one transaction adds its 2 rtt to the critical path
    assert replay(trace, workers=8, rtt=RTT, txn_rtt=3 * RTT)["seconds"] == pytest.approx((11 + 2) * RTT)
