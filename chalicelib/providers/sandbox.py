"""The sandbox credit provider: a stand-in for Zhima / Pay Score with test users from login codes.

Login code `NAME[:SCORE[:FLAG,FLAG...]]`. Its own state (profiles and an operation ledger keyed by
our request numbers) lives under `SBX#` keys; its asynchronous answers are HMAC-signed notifications
queued on `sandbox-notifications` and delivered to /v1/callbacks/sandbox's handler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..clock import iso
from ..domain import request_numbers as numbers
from ..domain.credit import band_of
from ..domain.errors import InvalidSignature, ValidationFailed
from ..domain.reconciliation import BillLine
from ..store.dynamo import ConditionFailed
from .base import Ack, CreditAnswer, CreditProvider, Identity, Notification, OpResult

if TYPE_CHECKING:  # an annotation only: a rental request does not load the reminders
    from ..domain.reminders import Reminder

FLAGS = {"declines", "freeze_fails", "charge_fails", "charge_fails_once"}
CODE_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]{1,64})(?::(?P<score>\d{1,4})?)?(?::(?P<flags>[a-z_,]*))?$")
SIGNATURE_HEADER = "x-sandbox-signature"
TIMESTAMP_HEADER = "x-sandbox-timestamp"
WINDOW_SECONDS = 300
BILLED = ("charge", "capture", "refund", "deposit")  # what moves money; freezes and releases only hold it


def parse_code(code: str) -> tuple[str, int, set[str]]:
    """Split a sandbox login code; bad codes are a 400 on `code`."""
    match = CODE_RE.match(code or "")
    if not match:
        raise ValidationFailed("sandbox code must look like NAME[:SCORE[:FLAG,...]]", "code")
    score = int(match["score"]) if match["score"] else 700
    if not 300 <= score <= 950:
        raise ValidationFailed("sandbox score must be 300-950", "code")
    flags = {f for f in (match["flags"] or "").split(",") if f}
    if flags - FLAGS:
        raise ValidationFailed(f"unknown sandbox flag(s): {', '.join(sorted(flags - FLAGS))}", "code")
    return match["name"], score, flags


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SandboxProvider(CreditProvider):
    """Answers like a real provider, from profiles set by login codes."""

    name = "sandbox"

    def __init__(self, deps: Any) -> None:
        self.deps = deps

    # -- provider-side state -------------------------------------------------------
    @property
    def _table(self) -> Any:
        return self.deps.table

    def _profile(self, user: str) -> dict:
        return self._table.get(f"SBX#user#{user}", "PROFILE") or {"score": 700, "flags": []}

    def _record(self, out_request_no: str, op: dict) -> dict:
        """Record an operation once; a repeat with the same request number returns the first."""
        at = iso(self.deps.clock.now())
        item = {"pk": f"SBX#op#{out_request_no}", "sk": "OP", "at": at, **op}
        if op.get("kind") in BILLED:  # the sandbox's bill of a day is one Query (bill()), no extra write
            item.update(list_pk=f"SBX#bill#{at[:10]}", list_sk=f"{at}#{out_request_no}")
        try:
            self._table.put(item, condition="attribute_not_exists(pk)", return_old_on_fail=True)
            return item
        except ConditionFailed as exc:
            return exc.old_items[0] if exc.old_items and exc.old_items[0] else item

    def _notify(self, kind: str, out_request_no: str, **fields: Any) -> None:
        body = {
            "id": f"ntf-{hashlib.sha256((kind + out_request_no).encode()).hexdigest()[:24]}",
            "kind": kind,
            "out_request_no": out_request_no,
            **fields,
        }
        # Queued unsigned: like a real provider, the sandbox signs when it sends (see signed_headers).
        self.deps.queues.send("sandbox-notifications", {"body": json.dumps(body, sort_keys=True)})

    def signed_headers(self, raw: bytes) -> dict[str, str]:
        """Headers the sandbox sends with a notification: timestamp and HMAC over timestamp + body."""
        ts = str(int(time.time()))
        return {SIGNATURE_HEADER: sign(self.deps.settings.sandbox_secret, ts, raw), TIMESTAMP_HEADER: ts}

    @staticmethod
    def _result(op: dict) -> OpResult:
        expires = op.get("expires_at")
        return OpResult(
            op["status"],
            op.get("provider_ref"),
            op.get("reason"),
            expires_at=datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
        )

    # -- the interface -------------------------------------------------------------------
    def login(self, code: str) -> Identity:
        name, score, flags = parse_code(code)
        self._table.put({"pk": f"SBX#user#{name}", "sk": "PROFILE", "score": score, "flags": sorted(flags)})
        return Identity(name)

    def send_reminder(self, member_ref: str, reminder: Reminder) -> OpResult:
        """The sandbox's reminder channel records each message (one item per request number), as a
        provider's message log would; a repeat overwrites nothing."""
        item = {
            "pk": f"SBX#reminder#{reminder.request_no(member_ref)}",
            "sk": "MSG",
            "to": member_ref,
            "month": reminder.month,
            "credit_date": reminder.credit_date.isoformat(),
            "title": reminder.title,
            "page": reminder.page,
            "at": iso(self.deps.clock.now()),
            "list_pk": "sandbox#reminders",
            "list_sk": f"{reminder.month}#{member_ref}",
        }
        try:
            self._table.put(item, condition="attribute_not_exists(pk)")
        except ConditionFailed:
            pass  # the same message: the channel already shows it
        return OpResult("succeeded", provider_ref=item["pk"])

    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer:
        profile = self._profile(member_ref)
        if "declines" in profile["flags"]:
            return CreditAnswer("declined")
        return CreditAnswer("granted", band_of(int(profile["score"])))

    def freeze(
        self, out_order_no: str, out_request_no: str, member_ref: str, amount: int, title: str, expires_at: datetime
    ) -> OpResult:
        refused = "freeze_fails" in self._profile(member_ref)["flags"]
        op = self._record(
            out_request_no,
            {
                "kind": "freeze",
                "member": member_ref,
                "amount": amount,
                "status": "pending",
                "out_order_no": out_order_no,
                "provider_ref": f"sbx-auth-{out_request_no}",
                "expires_at": iso(expires_at),
                "will": "fail" if refused else "succeed",
            },
        )
        if op.get("status") == "pending":
            if op["will"] == "fail":
                self._notify("freeze.failed", out_request_no, reason="user_refused")
            else:
                self._notify(
                    "freeze.succeeded",
                    out_request_no,
                    provider_ref=op["provider_ref"],
                    amount=amount,
                    data={"expires_at": op["expires_at"]},
                )
        return OpResult("pending", op.get("provider_ref"))

    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult:
        out_request_no = numbers.number(out_order_no, "deposit")
        op = self._record(
            out_request_no,
            {
                "kind": "deposit",
                "member": member_ref,
                "amount": amount,
                "status": "pending",
                "provider_ref": f"sbx-dep-{out_order_no}",
                "will": "succeed",  # what query() answers if the notice is lost
            },
        )
        if op.get("status") == "pending":
            self._notify("deposit.paid", out_request_no, provider_ref=op["provider_ref"], amount=amount)
        return OpResult("pending", op["provider_ref"])

    def _money(self, kind: str, out_request_no: str, member_ref: str, amount: int, **extra: Any) -> OpResult:
        op = self._record(
            out_request_no,
            {
                "kind": kind,
                "member": member_ref,
                "amount": amount,
                "status": "succeeded",
                "provider_ref": f"sbx-{kind}-{out_request_no}",
                **extra,
            },
        )
        return self._result(op)

    def capture_from_freeze(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, reason: str
    ) -> OpResult:
        return self._money("capture", out_request_no, member_ref, amount, freeze_ref=freeze_ref, reason=reason)

    def release(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *, fulfilled: bool = False
    ) -> OpResult:
        """The fulfilment fact rides on the release that ends the rental, as Zhima's bizComplete does."""
        return self._money("release", out_request_no, member_ref, amount, freeze_ref=freeze_ref, fulfilled=fulfilled)

    def cancel_freeze(self, out_order_no: str, out_request_no: str) -> OpResult:
        """Whatever became of the freeze, nothing stays held: recorded as a cancelled operation once."""
        self._money("freeze_cancel", f"{out_request_no}_x", "", 0, of=out_request_no)
        op = self._table.get(f"SBX#op#{out_request_no}", "OP")
        if op and op.get("status") == "pending":  # its answer was never sent: it will never succeed now
            self._table.update(f"SBX#op#{out_request_no}", "OP", set={"status": "failed", "will": "fail"})
        return OpResult("succeeded")

    def charge(
        self, out_request_no: str, member_ref: str, amount: int, description: str, *, agreement_ref: str | None = None
    ) -> OpResult:
        existing = self._table.get(f"SBX#op#{out_request_no}", "OP")
        if existing:
            return self._result(existing)
        flags = set(self._profile(member_ref)["flags"])
        fail = "charge_fails" in flags or ("charge_fails_once" in flags and self._use_one_failure(member_ref))
        op = self._record(
            out_request_no,
            {
                "kind": "charge",
                "member": member_ref,
                "amount": amount,
                "status": "failed" if fail else "succeeded",
                "reason": "insufficient_balance" if fail else None,
                "provider_ref": f"sbx-charge-{out_request_no}",
            },
        )
        return self._result(op)

    def _use_one_failure(self, member_ref: str) -> bool:
        try:
            self._table.update(
                f"SBX#user#{member_ref}",
                "PROFILE",
                set={"failed_once": True},
                condition="attribute_not_exists(failed_once)",
            )
            return True
        except ConditionFailed:
            return False

    def refund(
        self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *, charged_total: int | None = None
    ) -> OpResult:
        return self._money("refund", out_request_no, member_ref, amount, charge_ref=charge_ref)

    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult:
        return self._money("fulfilment", out_request_no, member_ref, 0, fulfilled=positive)

    def query(self, out_request_no: str) -> OpResult | None:
        op = self._table.get(f"SBX#op#{out_request_no}", "OP")
        if not op:
            return None
        if op["status"] == "pending" and op.get("will"):
            return OpResult(
                "succeeded" if op["will"] == "succeed" else "failed",
                op.get("provider_ref"),
                expires_at=self._result(op).expires_at,
            )
        return self._result(op)

    def bill(self, day: date) -> list[BillLine]:
        """The money the sandbox moved on `day`, from its own ledger: succeeded operations (a deposit whose
        answer is still queued counts: it will succeed, as query() says)."""
        lines = []
        for op in self._table.query("list_pk = :p", {":p": f"SBX#bill#{day.isoformat()}"}, index="list"):
            if op["status"] == "succeeded" or (op["status"] == "pending" and op.get("will") == "succeed"):
                lines.append(
                    BillLine(
                        op["pk"].removeprefix("SBX#op#"),
                        op["kind"],
                        int(op["amount"]),
                        op["at"],
                        op.get("provider_ref", ""),
                    )
                )
        return lines

    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        lower = {k.lower(): v for k, v in headers.items()}
        ts, signature = lower.get(TIMESTAMP_HEADER, ""), lower.get(SIGNATURE_HEADER, "")
        expected = sign(self.deps.settings.sandbox_secret, ts, raw_body)
        if not signature or not hmac.compare_digest(expected, signature):
            raise InvalidSignature("bad sandbox signature")
        if not ts.isdigit() or abs(time.time() - int(ts)) > WINDOW_SECONDS:
            raise InvalidSignature("sandbox notification timestamp outside the 5-minute window")
        data = json.loads(raw_body)
        return Notification(
            id=data["id"],
            kind=data["kind"],
            out_request_no=data.get("out_request_no"),
            provider_ref=data.get("provider_ref"),
            amount=data.get("amount"),
            data={k: v for k, v in data.items() if k not in ("id", "kind")},
        )

    def ack(self) -> Ack:
        return Ack(200, '{"status":"ok"}', "application/json")

    def nack(self) -> Ack:
        # A 5xx: the sandbox sender (jobs/sandbox.py) fails the queue message, which is delivered again.
        return Ack(503, '{"status":"retry"}', "application/json")
