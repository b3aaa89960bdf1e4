"""Concurrency and repetition: one outcome, at most one charge (PRODUCT.md section 9)."""

from __future__ import annotations

import threading
from typing import Any, Callable

from chalicelib.domain.errors import DomainError
from chalicelib.services.orders import billing, charges, orders, refunds
from chalicelib.services.orders.orders import order_key
from chalicelib.store.uow import Retry, UnitOfWork
from tests.flows import money
from tests.helpers import Api

DAY = 86400


def _until_done(fn: Callable[[], Any]) -> Any:
    for _ in range(20):
        try:
            return fn()
        except Retry:
            continue
        except DomainError as exc:
            return exc
    raise AssertionError("never settled")


def _race(*fns: Callable[[], Any]) -> list[Any]:
    """Run `fns` at once; their results (a DomainError is a result). Any other error fails the race: a racer
    that crashed would otherwise leave the others to win unopposed."""
    results: list[Any] = [None] * len(fns)
    crashed: list[BaseException] = []
    barrier = threading.Barrier(len(fns))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = _until_done(fns[i])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            crashed.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if crashed:
        raise crashed[0]
    return results


def _refund(aws: Any, member_id: str, oid: str, amount: int, key: str | None = None) -> Any:
    """The refund route's use case as the route runs it: staged into one unit of work, committed once."""
    uow = UnitOfWork(aws.table, aws.clock.now(), f"member:{member_id}", aws.queues.send)
    out = refunds.refund(aws, uow, member_id, oid, amount, key)
    uow.commit()
    return out


def _confirm(aws: Any, member_id: str, oid: str) -> Callable[[], Any]:
    def go() -> Any:
        uow = UnitOfWork(aws.table, aws.clock.now(), member_id, aws.queues.send)
        out = orders.confirm(aws, uow, member_id, oid)
        uow.commit()
        return out

    return go


def _cancel(aws: Any, member_id: str, oid: str) -> Callable[[], Any]:
    def go() -> Any:
        uow = UnitOfWork(aws.table, aws.clock.now(), member_id, aws.queues.send)
        out = orders.cancel(aws, uow, member_id, oid)
        uow.commit()
        return out

    return go


def _new(api: Api, token: str) -> str:
    status, out = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 201, out
    api.advance(31 * 60)  # stay under the velocity rule (3 orders an hour)
    return out["id"]


def test_concurrent_confirm_and_cancel_have_one_outcome_and_at_most_one_charge(client, aws):
    api = Api(client)
    token = api.member("max:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    outcomes = set()
    for _ in range(4):
        oid = _new(api, token)
        _race(
            _confirm(aws, member_id, oid),
            _cancel(aws, member_id, oid),
            _confirm(aws, member_id, oid),
            _cancel(aws, member_id, oid),
        )
        item = aws.table.get(*order_key(oid))
        outcomes.add(item["status"])
        assert item["status"] in ("charged", "cancelled")
        assert len(money.ops(aws, oid, "charge")) == (1 if item["status"] == "charged" else 0)
        assert money.paid(aws, oid) == int(item["charged"]) - int(item["refunded"])
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_duplicate_queue_messages_and_concurrent_workers_charge_once(client, aws):
    api = Api(client)
    token = api.member("ned:720")
    oid = _new(api, token)
    api.advance(15 * DAY)
    pk, sk = order_key(oid)
    for _ in range(3):
        aws.queues.send("order-charges", {"pk": pk, "sk": sk})
    _race(*[lambda: billing.run(aws, pk, sk) for _ in range(3)])
    api.run_jobs()
    api.run_jobs()
    item = aws.table.get(pk, sk)
    assert (item["status"], item["charged"], item["charge_attempts"]) == ("charged", 10_000, 1)
    assert len(money.ops(aws, oid, "charge")) == 1
    assert api.get("/v1/me", token=token)[1]["exposure"] == 0


def test_a_worker_lost_mid_charge_is_resumed_with_the_same_request_number(client, aws):
    api = Api(client)
    token = api.member("ole:720")
    oid = _new(api, token)
    api.advance(15 * DAY)
    pk, sk = order_key(oid)
    claimed = charges._claim(aws, aws.table.get(pk, sk), aws.clock.now())
    charges._charge(aws, claimed)  # the provider charged; the worker died before recording it
    api.run_jobs()
    assert aws.table.get(pk, sk)["status"] == "pending_charge"  # not yet: another worker may be on it
    status, out = api.post(f"/v1/orders/{oid}/cancel", token=token)
    assert status == 409 and out["error"]["code"] == "invalid_state"
    api.advance(16 * 60)
    api.run_jobs()
    item = aws.table.get(pk, sk)
    assert (item["status"], item["charged"]) == ("charged", 10_000)
    assert len(money.ops(aws, oid, "charge")) == 1


def test_concurrent_refunds_never_pay_back_more_than_was_charged(client, aws):
    api = Api(client)
    token = api.member("pia:720")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    oid = _new(api, token)
    api.post(f"/v1/orders/{oid}/confirm", token=token)
    results = _race(*[lambda: _refund(aws, member_id, oid, 6_000) for _ in range(3)])
    assert sum(1 for r in results if isinstance(r, dict)) == 1
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, dict))
    item = aws.table.get(*order_key(oid))
    assert (item["refunded"], item["status"]) == (6_000, "partially_refunded")
    assert money.refunded(aws, oid) == 6_000 and money.paid(aws, oid) == 4_000
