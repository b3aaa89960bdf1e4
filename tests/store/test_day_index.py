"""Day listings spread over shards read back as one listing, in order, whichever way."""

from __future__ import annotations

from chalicelib.store.day_index import day_pk, read_day
from chalicelib.store.schema import shard_count


def test_a_day_listing_spread_over_shards_reads_back_whole_and_in_order(aws):
    day = "2026-12-06"
    keys = [f"key{i:03d}" for i in range(60)]
    items = [
        {"pk": f"X#{k}", "sk": "X", "list_pk": day_pk("probe", day, k), "list_sk": f"{day}T00:00:{i:02d}.000Z#{k}"}
        for i, k in enumerate(keys)
    ]
    aws.table.batch_write(
        items
        + [
            {
                "pk": "X#other",
                "sk": "X",
                "list_pk": day_pk("probe", "2026-12-07", "k"),
                "list_sk": "2026-12-07T00:00:00.000Z#k",
            }
        ]
    )
    assert len({i["list_pk"] for i in items}) == shard_count()  # really spread
    oldest_first = [i["list_sk"] for i in read_day(aws.table, "probe", day)]
    assert oldest_first == sorted(i["list_sk"] for i in items)
    assert [i["list_sk"] for i in read_day(aws.table, "probe", day, newest_first=True)] == oldest_first[::-1]
