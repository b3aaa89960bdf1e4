"""The credit-day drop's pages are independent: traced on the real drop (the bench's trace and worker
loop), no two pages write the same item, and the only partition keys two pages write are the drop's
own audit log and the index partitions of its outbox entries and metric deltas. This is what lets
workers take pages in parallel; the bench's replay (bench/drop_structure.py) rests on it."""

from __future__ import annotations

from bench.coupon_drop import _drop
from bench.drop_structure import PageTrace, structure
from chalicelib.services.marketing import coupon_drops
from chalicelib.store.schema import shard_count
from tests.api.test_coupons import move_to
from tests.helpers import Api


def test_pages_of_a_credit_day_drop_write_no_item_in_common(client, aws, monkeypatch):
    monkeypatch.setattr(coupon_drops, "PAGE", 2)  # pages of two: shards need pages handed on
    api = Api(client)
    move_to(api, 1)
    for i in range(7):
        api.member(f"gold{i}:760")
        api.member(f"silver{i}:720")
    now = move_to(api, 8, months_ahead=0)
    trace = PageTrace(aws.queues.names[coupon_drops.QUEUE])
    trace.attach(aws.table.client, aws.queues.client)

    assert _drop(aws, now, workers=2, trace=trace) >= 2 * shard_count()

    shape = structure(trace)
    assert shape["chains"] == 2 * shard_count()  # one per tier and shard, all started by the drop
    assert shape["longest_chain_pages"] >= 2  # some shard handed a page on
    assert shape["items_written_by_two_pages"] == 0
    month = now.strftime("%Y-%m")
    shared = set(shape["partition_keys_written_by_two_pages"])
    allowed = (f"AUDIT#drop#credit_day#{month}#", "due:outbox#", "due:timer#metric#")
    assert shared and all(p.startswith(allowed) for p in shared), shared
    spread = [coupon_drops.issued_entity("credit_day", month, s) for s in range(shard_count())]
    written = [e for e in spread if list(aws.table.query("pk = :p", {":p": f"AUDIT#{e}"}))]
    assert len(written) > 1  # the pages' audit entries are spread, not one partition every page writes
