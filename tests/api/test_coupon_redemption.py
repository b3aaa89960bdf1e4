"""Redemption at the service level: what orders and rentals call when a `coupon_id` is given."""
from __future__ import annotations

import concurrent.futures as cf

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.services.marketing import coupons
from chalicelib.store.uow import UnitOfWork
from tests.helpers import Api


def first_order_coupon(api, code):
    token = api.member(code)
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    coupon = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "first_order"][0]
    return token, member_id, coupon


def redeem(aws, cid, member_id, amount, ref):
    uow = UnitOfWork(aws.table, aws.clock.now(), member_id)
    discount = coupons.stage_redeem(aws.table, uow, cid, member_id, amount, ref)
    uow.commit()
    return discount


def test_six_concurrent_orders_with_one_coupon_only_one_gets_the_discount(client, aws):
    api = Api(client)
    _, member_id, coupon = first_order_coupon(api, "six:720")

    def order(i):
        try:
            return 201, redeem(aws, coupon["id"], member_id, 10_000, f"order-{i}")
        except DomainError as exc:
            return exc.status, exc.code

    with cf.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(order, range(6)))
    wins = [r for r in results if r[0] == 201]
    assert len(wins) == 1 and wins[0][1] == 2000, results
    assert all(r == (409, "coupon_unavailable") for r in results if r[0] != 201), results
    stored = aws.table.get(f"COUPON#{coupon['id']}", "COUPON")
    assert stored["status"] == "reserved" and stored["reserved_for"].startswith("order-")


def test_reserve_consume_return_cycle(client, aws):
    api = Api(client)
    token, member_id, coupon = first_order_coupon(api, "cyc:610")
    assert redeem(aws, coupon["id"], member_id, 300, "o1") == 300  # capped at the price
    status = lambda: api.get("/v1/coupons", token=token)[1]["coupons"][0]["status"]  # noqa: E731
    assert status() == "used"  # reserved shows as used
    uow = UnitOfWork(aws.table, aws.clock.now())
    coupons.stage_return(uow, coupon["id"], "o1")
    uow.commit()
    assert status() == "available"
    redeem(aws, coupon["id"], member_id, 800, "o2")
    uow = UnitOfWork(aws.table, aws.clock.now())
    coupons.stage_consume(uow, coupon["id"], "o2")
    uow.commit()
    assert status() == "used"
    uow = UnitOfWork(aws.table, aws.clock.now())
    coupons.stage_return(uow, coupon["id"], "o2")  # too late: a used coupon does not come back
    with pytest.raises(DomainError):
        uow.commit()


def test_another_members_coupon_is_404(client, aws):
    api = Api(client)
    _, _, coupon = first_order_coupon(api, "own:720")
    _, thief, _ = first_order_coupon(api, "thief:720")
    with pytest.raises(DomainError) as err:
        redeem(aws, coupon["id"], thief, 10_000, "x")
    assert (err.value.status, err.value.field) == (404, "coupon_id")
    with pytest.raises(DomainError) as err:
        redeem(aws, "cpn_nosuch", thief, 10_000, "x")
    assert err.value.status == 404


def test_an_expired_coupon_is_refused(client, aws):
    api = Api(client)
    token, member_id, coupon = first_order_coupon(api, "old:720")
    api.advance(31 * 86400)
    assert api.get("/v1/coupons", token=token)[1]["coupons"][0]["status"] == "expired"
    with pytest.raises(DomainError) as err:
        redeem(aws, coupon["id"], member_id, 10_000, "x")
    assert (err.value.status, err.value.code) == (400, "coupon_expired")


def test_minimum_spend_not_met_is_400(client, aws):
    api = Api(client)
    token = api.member("min:760")
    member_id = api.get("/v1/me", token=token)[1]["member_id"]
    assert api.admin("POST", "/v1/admin/campaigns", {"tier": "gold", "amount": 1000, "min_spend": 9900,
                                                     "valid_days": 7})[0] == 201
    api.run_jobs()
    coupon = [c for c in api.get("/v1/coupons", token=token)[1]["coupons"] if c["kind"] == "campaign"][0]
    with pytest.raises(DomainError) as err:
        redeem(aws, coupon["id"], member_id, 9899, "x")
    assert (err.value.status, err.value.code, err.value.field) == (400, "coupon_min_spend_not_met", "coupon_id")
    assert redeem(aws, coupon["id"], member_id, 9900, "y") == 1000
