"""Analytics counters come from the table's stream, not from the money transactions: a member's action
writes no item every other member also writes, and the fold counts each delta exactly once however the
stream delivers it (twice, after a worker died mid-batch, by concurrent folders, racing the sweep)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.clock import iso
from chalicelib.jobs import stream
from chalicelib.local.stack import streams_client
from chalicelib.local.streams import StreamReader
from chalicelib.services.ops import metric_fold
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api, fold_metrics
from tests.rental_helpers import active_rental


def _stream_records(aws) -> list[dict]:
    """Every record of the table's stream from its start (what the deployed mapping would deliver)."""
    reader = StreamReader(aws, streams_client(aws.settings.region), start="TRIM_HORIZON")
    reader.discover()
    records: list[dict] = []
    for iterator in list(reader.iterators.values()):
        while iterator:
            out = reader.client.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(out.get("Records", []))
            iterator = out.get("NextShardIterator") if out.get("Records") else None
    return records


def _totals(api: Api) -> dict:
    status, out = api.admin("GET", "/v1/admin/metrics")
    assert status == 200, out
    return out["totals"]


def _sign_ins(api: Api, n: int) -> None:
    for i in range(n):
        api.member(f"fold{i}:720")


def test_a_stream_batch_delivered_twice_counts_once(client, aws):
    api = Api(client)
    _sign_ins(api, 3)
    records = _stream_records(aws)
    deltas = [r for r in records if stream.metric_delta(r)]
    assert len(deltas) == 3  # one delta item per authorization, written in its own transaction
    assert stream.handle_records(aws, records) == []
    assert stream.handle_records(aws, records) == []  # the same batch again
    t = _totals(api)
    assert (t["auth_asked"], t["auth_granted"], t["members"]) == (3, 3, 3)
    assert fold_metrics(aws) == 0  # the safety-net sweep finds nothing left to fold
    assert _totals(api)["auth_asked"] == 3


def test_a_worker_that_dies_mid_batch_leaves_the_counters_exact_after_the_redelivery(client, aws, monkeypatch):
    api = Api(client)
    _sign_ins(api, 6)
    records = _stream_records(aws)
    monkeypatch.setattr(metric_fold, "MAX_ITEMS", 4)  # several fold transactions for one batch
    real_commit, commits = UnitOfWork.commit, []

    def dies_on_the_second(self):
        commits.append(1)
        if len(commits) == 2:
            raise RuntimeError("the worker died")
        return real_commit(self)

    monkeypatch.setattr(UnitOfWork, "commit", dies_on_the_second)
    failed = stream.handle_records(aws, records)
    assert failed, "the batch reports its delta records as failed, so the stream delivers them again"
    monkeypatch.setattr(UnitOfWork, "commit", real_commit)
    assert 0 < _totals(api)["auth_asked"] < 6  # the first chunk was folded before the worker died
    assert stream.handle_records(aws, records) == []
    assert _totals(api)["auth_asked"] == 6


def test_concurrent_folders_of_the_same_deltas_count_each_once(client, aws):
    api = Api(client)
    _sign_ins(api, 8)
    records = _stream_records(aws)
    errors: list[Exception] = []

    def fold() -> None:
        try:
            stream.handle_records(aws, records)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fold) for _ in range(4)]
    threads.append(threading.Thread(target=lambda: fold_metrics(aws)))  # the sweep racing the stream
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    t = _totals(api)
    assert (t["auth_asked"], t["auth_granted"], t["members"]) == (8, 8, 8)


@pytest.mark.parametrize("flow", ["rental", "order"])
def test_no_money_transaction_writes_a_counter_item(client, aws, monkeypatch, flow):
    """Only folds (which mark their deltas) write METRIC# items; requests and workers write their own."""
    seen: list[list[str]] = []
    real = aws.table.transact

    def spy(ops):
        seen.append([next(iter(op.values()))["Item" if "Put" in op else "Key"]["pk"]["S"] for op in ops])
        return real(ops)

    monkeypatch.setattr(aws.table, "transact", spy)
    api = Api(client)
    token = api.member("hot:720")
    if flow == "rental":
        rental = active_rental(api, token)
        assert api.post(f"/v1/rentals/{rental['id']}/return", {}, token=token)[0] == 200
    else:
        status, order = api.post(
            "/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token
        )
        assert status == 201 and api.post(f"/v1/orders/{order['id']}/confirm", {}, token=token)[0] == 200
    api.run_jobs()
    writers = [keys for keys in seen if any(k.startswith("METRIC#") for k in keys)]
    assert writers, "the counters were folded"
    assert all(any(k.startswith("MDELTA#") for k in keys) for keys in writers)
    movers = [keys for keys in seen if any(k.startswith(("RENTAL#", "ORDER#")) for k in keys)]
    assert movers and not any(k.startswith("METRIC#") for keys in movers for k in keys)
    assert _totals(api)["decisions"] == 1


def test_a_booking_which_no_scenario_decides_is_counted_in_its_band_and_folds_with_the_rest(client, aws):
    """A booking's decision had no scenario: its delta named the scenario None, which no counter can carry,
    and failed the fold of every delta in its batch."""
    api = Api(client)
    _sign_ins(api, 2)
    token = api.member("fold-booker:720")
    body = {"service_id": "spa-1", "starts_at": iso(aws.clock.now() + timedelta(days=3)), "price": 10_000}
    status, out = api.post("/v1/bookings", body, token=token)
    assert status == 201 and out["status"] == "confirmed", out
    records = _stream_records(aws)
    assert stream.handle_records(aws, records) == []  # nothing failed: the batch folded whole
    t = _totals(api)
    assert (t["auth_asked"], t["decisions"], t["orders"], t["order_amount"]) == (3, 1, 1, 10_000)
    assert fold_metrics(aws) == 0  # nothing left behind for the sweep
    assert not list(aws.table.query("pk = :p", {":p": "METRIC#scenario#None"}))
