"""One fresh stack per hypothesis example, driven through the public surface, and the ledger readers.

A state machine cannot use function-scoped fixtures (they would be shared by every example), so each
example builds its own table, queues and bus with `tests.conftest.fresh_deps` (what the `aws` fixture
does) and talks to the app through one chalice.test.Client. Provider notifications are taken off the
`sandbox-notifications` queue and posted, signed, to POST /v1/callbacks/sandbox in an order and with
repeats that hypothesis chooses; worker queues are handed to the job runner's `handle_batch` with
every record delivered twice (SQS is at-least-once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.domain import reconciliation
from chalicelib.jobs.runner import handle_batch, run_all
from chalicelib.services.ops import ledger
from tests.conftest import fresh_deps, release
from tests.helpers import ADMIN, Api, sweep_due

DAY = 86400
NOTIFICATIONS = "sandbox-notifications"
# sweep -> the queue it feeds (whose worker does the work)
SWEEP_QUEUES = {
    "deduct_overdue_rentals": "rental-timers",
    "charge_due_orders": "order-charges",
    "start_campaigns": "coupon-drops",
    "drop_credit_day_coupons": "coupon-drops",
}


@dataclass(frozen=True)
class Record:
    """What handle_batch reads of a Chalice SQS record."""

    body: str
    message_id: str


class Stack:
    """A fresh table/queues/bus for one example; the app through `client`."""

    def __init__(self, client: Any, monkeypatch: Any, endpoint: str, clients: dict) -> None:
        self.deps = fresh_deps(monkeypatch, endpoint, clients)
        self.api = Api(client)
        self.client = client
        self.notifications: list[str] = []  # every notification body delivered so far (for replays)

    def close(self) -> None:
        """Drop this example's table and queues (a long run would otherwise pile them up in moto)."""
        release(self.deps)

    # -- the public surface -----------------------------------------------------------------
    def member(self, code: str) -> tuple[str, str]:
        token = self.api.member(code)
        return token, self.api.get("/v1/me", token=token)[1]["member_id"]

    def advance(self, seconds: int) -> None:
        self.api.advance(seconds)

    def run_jobs(self) -> dict:
        return self.api.run_jobs()

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.api.call(method, path, body, headers=dict(ADMIN))

    # -- provider notifications -------------------------------------------------------------
    def take_notifications(self) -> list[str]:
        """Every queued sandbox notification body, taken off the queue (the test delivers them)."""
        bodies: list[str] = []
        for _ in range(20):
            msgs = self.deps.queues.receive(NOTIFICATIONS, max_messages=10, visibility=30)
            if not msgs:
                break
            for m in msgs:
                bodies.append(json.loads(m["Body"])["body"])
                self.deps.queues.delete(NOTIFICATIONS, m["ReceiptHandle"])
        return bodies

    def post_notification(self, raw: str) -> None:
        """POST /v1/callbacks/sandbox, signed as the sandbox signs; a valid one is always acknowledged."""
        data = raw.encode()
        headers = {"Content-Type": "application/json", **self.deps.provider("sandbox").signed_headers(data)}
        r = self.client.http.request("POST", "/v1/callbacks/sandbox", headers=headers, body=data)
        assert r.status_code == 200, (r.status_code, r.body)
        if raw not in self.notifications:
            self.notifications.append(raw)

    # -- jobs -----------------------------------------------------------------------------
    def sweep(self, name: str) -> int:
        """A timer sweep and the shard readers it hands its shards to; returns the due items they enqueued."""
        return sweep_due(self.deps, name)

    def work_twice(self, queue: str) -> int:
        """Hand every visible message of `queue` to handle_batch with each record twice; delete the handled,
        make failed ones visible again (as Lambda's partial batch response does)."""
        handled = 0
        for _ in range(10):
            msgs = self.deps.queues.receive(queue, max_messages=10, visibility=30)
            if not msgs:
                break
            records = [Record(m["Body"], m["MessageId"]) for m in msgs]
            records += [Record(m["Body"], m["MessageId"] + "#again") for m in msgs]
            failed = {f["itemIdentifier"].split("#")[0] for f in handle_batch(queue, records)["batchItemFailures"]}
            for m in msgs:
                if m["MessageId"] in failed:
                    self.deps.queues.release(queue, m["ReceiptHandle"], 0)
                else:
                    self.deps.queues.delete(queue, m["ReceiptHandle"])
                    handled += 1
        return handled

    def run_all(self) -> dict:
        return run_all(self.deps)

    def deliver_all_notifications(self) -> int:
        bodies = self.take_notifications()
        for raw in bodies:
            self.post_notification(raw)
        return len(bodies)

    def settle_rentals(self) -> None:
        """What run_all does for rentals, cheaper: timers, notifications, settlements until nothing moves."""
        for _ in range(6):
            moved = self.sweep("deduct_overdue_rentals") + self.work_twice("rental-timers")
            moved += self.deliver_all_notifications() + self.work_twice("rental-settlements")
            if not moved:
                return

    # -- reading the store and the provider's ledger -----------------------------------------
    def items(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        found: dict[tuple[str, str], dict] = {}
        for i in range(0, len(keys), 100):
            found.update(self.deps.table.batch_get(keys[i : i + 100]))
        return found

    def provider_ops(self, request_nos: list[str]) -> dict[str, dict]:
        """The sandbox provider's record of each of our request numbers it has seen."""
        got = self.items([(f"SBX#op#{n}", "OP") for n in request_nos])
        return {n: got[(f"SBX#op#{n}", "OP")] for n in request_nos if (f"SBX#op#{n}", "OP") in got}

    def charge_everything_due(self, rounds: int) -> None:
        """Past any trial (30 days at most), then a day at a time for the retries: the charge sweep and its
        worker each round."""
        for n in range(rounds):
            self.advance(31 * DAY if n == 0 else DAY + 60)
            self.sweep("charge_due_orders")
            self.work_twice("order-charges")

    def assert_bill_matches_ledger(self, request_nos: list[str]) -> None:
        """The daily reconciliation's matcher over every day on which these request numbers moved money, by
        the sandbox's bill and our ledger (the readers the reconcile_bills job uses), finds them matched. A
        movement the two sides book on different days (a late notification) still matches; a total that
        differs is a real difference."""
        nos = set(request_nos)
        ops = self.provider_ops(sorted(nos))
        ours = self.items([(f"LEDGER#sandbox#{n}", "LEDGER") for n in sorted(nos)])
        days = {op["list_pk"].rsplit("#", 1)[1] for op in ops.values() if "list_pk" in op}
        days |= {line["at"][:10] for line in ours.values()}
        sandbox = self.deps.provider("sandbox")
        theirs = [x for d in sorted(days) for x in sandbox.bill(date.fromisoformat(d)) if x.out_request_no in nos]
        mine = [
            x for d in sorted(days) for x in ledger.movements(self.deps.table, "sandbox", d) if x.out_request_no in nos
        ]
        report = reconciliation.match("sandbox", theirs, mine)
        assert report["status"] == "matched", report


def order_request_nos(ref: str, item: dict) -> list[str]:
    """Every request number an order or booking may have sent the provider: its charge attempts (and the next)
    and its refunds (and two more)."""
    nos = [f"{ref}_charge{n}" for n in range(1, int(item.get("charge_attempts", 0)) + 2)]
    return nos + [f"{ref}_rfd{n}" for n in range(1, int(item.get("refund_count", 0)) + 3)]
