"""Exposure stays within the limit under concurrent applications: the guard is a conditional update
on the member (exposure <= limit - amount), never a read-then-write."""

from __future__ import annotations

import threading

from chalicelib.domain.errors import NotFound
from chalicelib.services.members import members
from chalicelib.store.uow import Retry, UnitOfWork
from tests.helpers import Api

AMOUNT = 15_000  # 150 yuan; the "none" tier's limit is 1,000 yuan = 100,000 fen


def _apply(aws, member_id: str, amount: int, accepted: list[int], barrier: threading.Barrier) -> None:
    """What a request does: read, decide within the limit, stage the guarded exposure, commit; a lost
    race is decided again from a fresh read."""
    barrier.wait()
    for _ in range(30):
        member = members.load(aws.table, member_id)
        now = aws.clock.now()
        limit = members.limit(member, now, aws.settings.policy)
        if int(member.get("exposure", 0)) + amount > limit:
            return  # rejected: over_limit
        uow = UnitOfWork(aws.table, now)
        members.stage_exposure(uow, member_id, amount, max_before=limit - amount)
        try:
            uow.commit()
        except Retry:
            continue
        accepted.append(amount)
        return


def _run_threads(aws, member_id: str, amounts: list[int]) -> list[int]:
    accepted: list[int] = []
    barrier = threading.Barrier(len(amounts))
    threads = [threading.Thread(target=_apply, args=(aws, member_id, a, accepted, barrier)) for a in amounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return accepted


def test_ten_concurrent_applications_never_exceed_the_limit(client, aws):
    api = Api(client)
    token = api.member("nina:580")  # tier none: limit 100,000 fen
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    accepted = _run_threads(aws, member_id, [AMOUNT] * 10)  # 150,000 asked for in all
    exposure = int(members.load(aws.table, member_id)["exposure"])
    assert exposure == sum(accepted) <= 100_000
    assert len(accepted) == 6  # every request that fit was taken: no lost update, no over-grant
    me = api.get("/v1/me", token=token)[1]
    assert (me["exposure"], me["available_credit"]) == (90_000, 10_000)


def test_mixed_amounts_fill_the_limit_exactly_without_passing_it(client, aws):
    api = Api(client)
    token = api.member("omar:580")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    amounts = [30_000, 25_000, 20_000, 20_000, 15_000, 10_000, 10_000, 5_000, 5_000, 40_000]  # 180,000
    accepted = _run_threads(aws, member_id, amounts)
    exposure = int(members.load(aws.table, member_id)["exposure"])
    assert exposure == sum(accepted) <= 100_000
    refused = sorted(amounts)
    for a in accepted:
        refused.remove(a)
    assert all(exposure + a > 100_000 for a in refused)  # each refusal was a real over-limit


def test_the_guard_refuses_even_a_stale_decision(client, aws):
    """Two requests both decided on exposure 0; the second commit's guard sees the first one's write."""
    api = Api(client)
    token = api.member("pete:580")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    first, second = UnitOfWork(aws.table, aws.clock.now()), UnitOfWork(aws.table, aws.clock.now())
    members.stage_exposure(first, member_id, 60_000, max_before=100_000 - 60_000)
    members.stage_exposure(second, member_id, 60_000, max_before=100_000 - 60_000)
    first.commit()
    try:
        second.commit()
        raise AssertionError("the second commit should lose")
    except Retry:
        pass
    assert int(members.load(aws.table, member_id)["exposure"]) == 60_000
    unknown = UnitOfWork(aws.table, aws.clock.now())
    members.stage_exposure(unknown, "m_nobody", 1, max_before=10)
    try:
        unknown.commit()
        raise AssertionError("no member, no exposure")
    except (Retry, NotFound):
        pass
