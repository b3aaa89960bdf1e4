"""Orders, bookings and coupons as a state machine: pay later and installments created (with coupons), confirmed,
cancelled, refunded in part or in full, reviewed; bookings cancelled, completed, disputed; charges that fail
once or always; sweeps and workers run twice; the clock moved.

After every step, by the provider's ledger: at most one successful charge per order or booking, charged -
refunded = what we recorded as paid, refunds never beyond the charge, the status agrees with the money;
exposure is exactly what open orders and bookings owe; a coupon is on at most one order, `used` only when
that order was charged, `available` only when nothing holds it. At the end everything is settled.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib.clock import iso
from tests.properties.conftest import budget
from tests.properties.harness import DAY, Stack, order_request_nos

MEMBERS = {
    "gold": "gold:780",  # gold: 12 installments, cancels bookings free
    "normal": "norm:680",  # normal: late booking cancellations pay a fee
    "flaky": "flaky:760:charge_fails_once",  # the first charge fails, the retry goes through
    "broke": "broke:760:charge_fails",  # every charge fails: past due after 3 retries
}
ORDERS = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("pay_later"),
            "scenario": st.sampled_from(["books", "digital"]),
            "amount": st.one_of(st.integers(1, 20_000), st.integers(20_000, 250_000)),
            "trial_days": st.one_of(st.none(), st.integers(7, 30)),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("installment"),
            "scenario": st.just("digital"),
            "amount": st.integers(55_000, 250_000),
            "installments": st.sampled_from([3, 6, 12]),
        }
    ),
)
OPEN_ORDER = {"pending_charge", "in_review", "past_due"}
PAID_ORDER = {"charged", "partially_refunded", "refunded"}
OPEN_BOOKING = {"in_review", "confirmed", "disputed", "pending_charge", "past_due"}
JOBS = ["charges", "charges", "charges_sweep_only", "run_all"]
CLOCK_MOVES = [60, 16 * 60, 3600, 20 * 3600, DAY, 3 * DAY, 8 * DAY, 31 * DAY]
STATS: Counter = Counter()


def money_of(item: dict, ops: dict[str, dict]) -> tuple[int, int, int]:
    """(successful charges, charged, refunded) by the provider's ledger for one order or booking."""
    oid = item["id"]
    charges = [op for no, op in ops.items() if no.startswith(f"{oid}_charge")]
    assert all(op["kind"] == "charge" and op["status"] in ("succeeded", "failed") for op in charges), charges
    ok = [op for op in charges if op["status"] == "succeeded"]
    refunds = [op for no, op in ops.items() if no.startswith(f"{oid}_rfd")]
    assert all(op["status"] == "succeeded" for op in refunds), refunds
    return len(ok), sum(int(op["amount"]) for op in ok), sum(int(op["amount"]) for op in refunds)


def check_order(item: dict, ops: dict[str, dict]) -> None:
    n_ok, charged, refunded = money_of(item, ops)
    assert n_ok <= 1, ("charged twice", item, ops)
    assert refunded <= charged, ("refunded more than charged", item, ops)
    assert int(item["payable"]) == int(item["amount"]) - int(item["discount"]) >= 0, item
    if not item.get("refund_pending"):  # between a refund's claim and its record the provider may be ahead
        assert (charged, refunded) == (int(item["charged"]), int(item["refunded"])), (item, ops)
    status = item["status"]
    if status in PAID_ORDER:
        assert charged == int(item["payable"]), item
        expected = {
            "charged": refunded == 0,
            "partially_refunded": 0 < refunded < charged,
            "refunded": refunded == charged,
        }[status]
        assert expected, (status, charged, refunded)
    else:
        assert charged == 0 and refunded == 0, (item, ops)


def check_booking(item: dict, ops: dict[str, dict]) -> None:
    n_ok, charged, refunded = money_of(item, ops)
    assert n_ok <= 1 and refunded == 0, ("booking charged twice", item, ops)
    assert charged == int(item.get("charged", 0)), (item, ops)
    status = item["status"]
    if status == "charged":
        assert charged == int(item["price"]), item
    elif status == "cancelled":
        assert charged == (int(item["cancellation_fee"]) if item.get("fee_charged") else 0), item
    else:
        assert charged == 0, item


class OrderMachine(RuleBasedStateMachine):
    def __init__(self, stack_factory) -> None:
        super().__init__()
        self.stack: Stack = stack_factory()
        self.members: dict[str, dict] = {}
        self.orders: dict[str, str] = {}  # id -> member kind
        self.bookings: dict[str, str] = {}
        self.status: dict[str, str] = {}
        self.coupons: dict[str, str] = {}  # coupon id -> member kind
        self.requests = 0

    @initialize(
        first=st.lists(st.tuples(st.sampled_from(sorted(MEMBERS)), ORDERS, st.booleans()), min_size=1, max_size=3)
    )
    def sign_in_and_order(self, first) -> None:
        for kind, code in MEMBERS.items():
            token, member_id = self.stack.member(code)
            self.members[kind] = {"token": token, "id": member_id}
            for c in self.stack.api.get("/v1/coupons", token=token)[1]["coupons"]:
                self.coupons[c["id"]] = kind
        for who, body, with_coupon in first:
            self.order(who, body, with_coupon)

    def _key(self) -> str:
        self.requests += 1
        return f"k{self.requests}"

    def _pick(self, data, pool: dict, *statuses: str) -> str:
        """Mostly (4 in 5) one in `statuses` when there is one, sometimes any. Every choice is a hypothesis
        draw, so a failure replays from its seed and shrinks."""
        aimed = sorted(i for i in pool if self.status.get(i) in statuses)
        if aimed and data.draw(st.integers(0, 4), label="aimed") > 0:
            return data.draw(st.sampled_from(aimed), label="pick")
        return data.draw(st.sampled_from(sorted(pool)), label="pick")

    def _reauthorize_if_lapsed(self, status: int, out: dict, token: str) -> bool:
        if status == 403 and out["error"]["code"] == "credit_authorization_required":  # lapses after 30 days
            assert self.stack.api.post("/v1/credit/authorizations", {}, token=token)[0] == 201
            return True
        return False

    # -- orders -------------------------------------------------------------------------------
    @rule(who=st.sampled_from(sorted(MEMBERS)), body=ORDERS, with_coupon=st.booleans())
    def order(self, who, body, with_coupon) -> None:
        m = self.members[who]
        body = {k: v for k, v in body.items() if v is not None}
        mine = sorted(c for c, k in self.coupons.items() if k == who)
        if with_coupon and mine:
            body["coupon_id"] = mine[0]
        status, out = self.stack.api.post("/v1/orders", body, token=m["token"], key=self._key())
        STATS[f"order: {status} {out.get('status') or out['error']['code']}"] += 1
        if status == 201:
            self.orders[out["id"]] = who
        elif not self._reauthorize_if_lapsed(status, out, m["token"]):
            assert status in (400, 409) and out["error"]["field"] in ("coupon_id", "amount", "installments"), out

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), action=st.sampled_from(["confirm", "cancel"]))
    def confirm_or_cancel(self, data, action) -> None:
        oid = self._pick(data, self.orders, "pending_charge", "in_review")
        status, out = self.stack.api.post(
            f"/v1/orders/{oid}/{action}", {}, token=self.members[self.orders[oid]]["token"], key=self._key()
        )
        STATS[f"{action}: {status} {out.get('status') or out['error']['code']}"] += 1
        assert status in (200, 409), (status, out)

    @precondition(lambda self: self.orders)
    @rule(
        data=st.data(),
        amount=st.one_of(st.none(), st.integers(1, 3_000), st.integers(1, 300_000)),
        repeat_key=st.booleans(),
    )
    def refund(self, data, amount, repeat_key) -> None:
        oid = self._pick(data, self.orders, "charged", "partially_refunded")
        token, key = self.members[self.orders[oid]]["token"], self._key()
        body = {} if amount is None else {"amount": amount}
        status, out = self.stack.api.post(f"/v1/orders/{oid}/refund", body, token=token, key=key)
        STATS[f"refund: {status} {out.get('status') or out['error']['code']}"] += 1
        assert status in (200, 400, 409), (status, out)
        if status == 400:
            assert out["error"]["field"] == "amount", out
        if repeat_key:  # the same request again: the first answer, no second refund
            assert self.stack.api.post(f"/v1/orders/{oid}/refund", body, token=token, key=key) == (status, out)

    # -- bookings -----------------------------------------------------------------------------
    @rule(who=st.sampled_from(sorted(MEMBERS)), price=st.integers(1, 60_000), hours=st.sampled_from([2, 12, 30, 72]))
    def book(self, who, price, hours) -> None:
        m = self.members[who]
        starts = iso(self.stack.deps.clock.now() + timedelta(hours=hours))
        status, out = self.stack.api.post(
            "/v1/bookings",
            {"service_id": "svc", "starts_at": starts, "price": price},
            token=m["token"],
            key=self._key(),
        )
        STATS[f"book: {status} {out.get('status') or out['error']['code']}"] += 1
        if status == 201:
            self.bookings[out["id"]] = who
        else:
            assert self._reauthorize_if_lapsed(status, out, m["token"]), (status, out)

    @precondition(lambda self: self.bookings)
    @rule(data=st.data(), action=st.sampled_from(["cancel", "satisfied", "unsatisfied"]))
    def booking_ends(self, data, action) -> None:
        bid = self._pick(data, self.bookings, "confirmed", "in_review")
        token = self.members[self.bookings[bid]]["token"]
        if action == "cancel":
            status, out = self.stack.api.post(f"/v1/bookings/{bid}/cancel", {}, token=token, key=self._key())
        else:
            status, out = self.stack.api.post(
                f"/v1/bookings/{bid}/complete", {"satisfied": action == "satisfied"}, token=token, key=self._key()
            )
        STATS[f"booking {action}: {status} {out.get('status') or out['error']['code']}"] += 1
        assert status in (200, 409), (status, out)

    # -- the operators ------------------------------------------------------------------------
    @precondition(lambda self: self.orders or self.bookings)
    @rule(data=st.data(), approve=st.booleans())
    def review(self, data, approve) -> None:
        ref = self._pick(data, {**self.orders, **self.bookings}, "in_review", "disputed")
        rid = f"rv_dispute_{ref}" if self.status.get(ref) == "disputed" else f"rv_{ref}"
        status, out = self.stack.admin("POST", f"/v1/admin/reviews/{rid}/{'approve' if approve else 'reject'}", {})
        STATS[f"review: {status}"] += 1
        assert status in (200, 404, 409), (status, out)

    # -- time and jobs ----------------------------------------------------------------------
    @rule(seconds=st.sampled_from(CLOCK_MOVES))
    def clock_moves(self, seconds) -> None:
        self.stack.advance(seconds)

    @rule(job=st.sampled_from(JOBS))
    def jobs_run(self, job) -> None:
        STATS[f"job: {job}"] += 1
        if job == "run_all":
            self.stack.run_all()
            return
        self.stack.sweep("charge_due_orders")
        self.stack.sweep("charge_due_orders")
        if job == "charges":
            self.stack.work_twice("order-charges")

    # -- what must always hold ----------------------------------------------------------------
    def _snapshot(self) -> tuple[dict, dict, dict, dict]:
        keys = [(f"ORDER#{i}", "ORDER") for i in self.orders] + [(f"BOOKING#{i}", "BOOKING") for i in self.bookings]
        keys += [(f"MEMBER#{m['id']}", "MEMBER") for m in self.members.values()]
        keys += [(f"COUPON#{c}", "COUPON") for c in self.coupons]
        got = self.stack.items(keys)
        objects = {i: got[(f"ORDER#{i}", "ORDER")] for i in self.orders}
        objects.update({i: got[(f"BOOKING#{i}", "BOOKING")] for i in self.bookings})
        members = {k: got.get((f"MEMBER#{m['id']}", "MEMBER"), {}) for k, m in self.members.items()}
        coupons = {c: got[(f"COUPON#{c}", "COUPON")] for c in self.coupons}
        nos = [n for i, item in objects.items() for n in order_request_nos(i, item)]
        return objects, members, coupons, self.stack.provider_ops(nos)

    @invariant()
    def money_exposure_and_coupons_hold(self) -> None:
        if not self.members:
            return
        objects, members, coupons, ops = self._snapshot()
        self.status = {i: o["status"] for i, o in objects.items()}
        for i, item in objects.items():
            mine = {n: op for n, op in ops.items() if n.startswith(f"{i}_")}
            (check_order if i in self.orders else check_booking)(item, mine)
        for kind in self.members:
            owed = sum(
                int(o["payable"])
                for i, o in objects.items()
                if i in self.orders and self.orders[i] == kind and o["status"] in OPEN_ORDER
            )
            owed += sum(
                int(b["price"])
                for i, b in objects.items()
                if i in self.bookings and self.bookings[i] == kind and b["status"] in OPEN_BOOKING
            )
            exposure = int(members[kind].get("exposure", 0))
            assert exposure >= 0 and exposure == owed, (kind, exposure, owed)
        for cid, coupon in coupons.items():
            users = [o for i, o in objects.items() if i in self.orders and o.get("coupon_id") == cid]
            live = [o for o in users if o["status"] in OPEN_ORDER]
            used = [o for o in users if o["status"] in PAID_ORDER]
            assert len(live) + len(used) <= 1, ("a coupon on two orders", cid, users)
            assert coupon["status"] == ("used" if used else "reserved" if live else "available"), (coupon, users)
            if live or used:
                assert coupon["reserved_for"] == (live or used)[0]["id"], (coupon, users)

    def teardown(self) -> None:
        try:
            if self.members and (self.orders or self.bookings):
                self._settle_everything()
        finally:
            self.stack.close()

    def _settle_everything(self) -> None:
        """Liveness: every review decided, every trial over, every retry done -> nothing open but defaults."""
        s = self.stack
        for ref in [*self.orders, *self.bookings]:
            s.admin("POST", f"/v1/admin/reviews/rv_{ref}/reject", {})
            s.admin("POST", f"/v1/admin/reviews/rv_dispute_{ref}/approve", {})
        s.charge_everything_due(rounds=5)  # trials end, then up to 3 daily retries
        self.money_exposure_and_coupons_hold()
        objects, members, _, _ = self._snapshot()
        for i, o in objects.items():
            STATS[f"end: {'order' if i in self.orders else 'booking'} {o['status']}"] += 1
        stuck = {
            i: o["status"]
            for i, o in objects.items()
            if o["status"] in ("pending_charge", "in_review") or o.get("charge_state") in ("pending", "charging")
        }
        assert not stuck, stuck
        s.assert_bill_matches_ledger([n for i, item in objects.items() for n in order_request_nos(i, item)])


def test_orders_bookings_and_coupons_keep_their_ledger(endpoint, aws, client, monkeypatch):
    clients = {"dynamodb": aws.table.client, "sqs": aws.queues.client, "events": aws.events}
    run_state_machine_as_test(
        lambda: OrderMachine(lambda: Stack(client, monkeypatch, endpoint, clients)),
        settings=budget(max_examples=8, steps=12),
    )
    print("order machine:", sorted(STATS.items()))  # shown with -s: what the examples exercised
