"""The provider port. Every money operation carries our own request number, so a retry is
recognised by the provider and never moves money twice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..domain.errors import ProviderNotConfigured

if TYPE_CHECKING:  # annotations only: a rental request loads neither
    from ..domain.reconciliation import BillLine
    from ..domain.reminders import Reminder


@dataclass(frozen=True)
class Identity:
    """The provider's stable user id for a login code."""

    provider_user_id: str


@dataclass(frozen=True)
class CreditAnswer:
    """granted (with band) | declined | pending (the result comes by callback)."""

    status: str
    band: str | None = None
    provider_params: dict | None = None


@dataclass(frozen=True)
class OpResult:
    """Outcome of a provider operation: succeeded | failed | pending (answer comes by callback)."""

    status: str
    provider_ref: str | None = None
    reason: str | None = None
    provider_params: dict | None = None
    expires_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class Line:
    """One named amount the user is shown (Pay Score post_payments, Alipay trade body).

    name: rent | overdue | deduction | ...; description: what the user reads; out_request_no: the line's
    own stable number (Alipay takes each line from the freeze as its own trade)."""

    name: str
    amount: int
    description: str
    out_request_no: str


@dataclass(frozen=True)
class Notification:
    """A verified provider notification in provider-neutral form.

    kind: freeze.succeeded | freeze.failed | deposit.paid | deposit.failed | charge.succeeded |
          charge.failed | credit.granted | credit.declined | paylater.confirmed | paylater.refused | ...
    """

    id: str
    kind: str
    out_request_no: str | None = None
    provider_ref: str | None = None
    amount: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ack:
    """What the provider expects back once a notification is handled."""

    status: int
    body: str
    content_type: str = "text/plain"


class BillUnavailable(Exception):
    """The provider's bill of a day cannot be had (not generated yet, not configured, a transport failure or a
    download that fails its check): the reconciliation records the provider as `unavailable`."""


class CreditProvider(ABC):
    """One interface for sandbox, Alipay and WeChat Pay; implementations take injected clients."""

    name: str = ""
    # The user confirms freezes and pay-later orders in the mini-program: the request is made while our
    # answer is written, so the params it opens travel in that answer. The sandbox answers by itself, after.
    confirms_in_app: bool = False
    # Interest-free installments (Huabei on Alipay); WeChat Pay has no equivalent and refuses them.
    offers_installments: bool = True
    # An operator's deduction from a live freeze is taken at once (Alipay: a trade under the authorization).
    # Pay Score takes every amount when the order is completed, so there it is recorded and taken at close.
    captures_live: bool = True
    # The bill of a day covers that calendar day at this UTC offset (Alipay and WeChat Pay: Beijing time).
    bill_utc_offset_hours: int = 0

    @abstractmethod
    def login(self, code: str) -> Identity: ...

    @abstractmethod
    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer: ...

    @abstractmethod
    def freeze(
        self, out_order_no: str, out_request_no: str, member_ref: str, amount: int, title: str, expires_at: datetime
    ) -> OpResult: ...

    @abstractmethod
    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult: ...

    @abstractmethod
    def capture_from_freeze(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, reason: str
    ) -> OpResult: ...

    @abstractmethod
    def release(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *, fulfilled: bool = False
    ) -> OpResult:
        """Give back `amount` of the freeze; `fulfilled`: this release ends an on-time rental (reported once)."""

    def settle_freeze(
        self,
        out_request_no: str,
        freeze_ref: str,
        member_ref: str,
        lines: Sequence[Line],
        release: int,
        *,
        fulfilled: bool,
    ) -> list[OpResult]:
        """The end of a deposit-free rental: take every line, release `release`, report fulfilment
        (False: late or defaulted, never reported as kept). Called again with the same arguments after
        any failure, so every step is idempotent by its request number. Default: one capture per line
        (lines captured live before are repeats the provider recognises), then one release.
        Answers one result per line with an amount, in order, then the release's: a line's provider_ref is
        what a later refund of that line names as its charge_ref."""
        results = [
            self.capture_from_freeze(line.out_request_no, freeze_ref, member_ref, line.amount, line.description)
            for line in lines
            if line.amount
        ]
        if release:
            results.append(self.release(out_request_no, freeze_ref, member_ref, release, fulfilled=fulfilled))
        else:
            results.append(self.record_fulfilment(out_request_no, member_ref, fulfilled))
        return results

    def cancel_freeze(self, out_order_no: str, out_request_no: str) -> OpResult:
        """Make sure a freeze we no longer want (never confirmed, answer lost, rental given up) leaves nothing
        frozen. Idempotent; a freeze never created is a success. Default: nothing is held without a call."""
        return OpResult("succeeded")

    def request_collection(self, out_request_no: str, agreement_ref: str) -> OpResult:
        """A completed charge the user has not paid yet: ask the provider to collect again (at most daily).
        Default: the provider collects by itself; the answer comes by notification or query."""
        return OpResult("pending")

    def fresh_params(self, kind: str, out_order_no: str) -> dict | None:
        """New mini-program params ('freeze' | 'paylater') for an order the user has not confirmed, when
        the ones handed out may have expired. None: those still work (the default)."""
        return None

    def refresh_keys(self) -> None:  # noqa: B027 (an optional hook: most providers rotate nothing)
        """Scheduled daily: fetch rotated provider keys (WeChat platform certificates). Default: none."""

    def open_pay_later(
        self, out_order_no: str, member_ref: str, amount: int, title: str, charge_at: datetime
    ) -> OpResult:
        """Open the provider's pay-later order the user confirms before anything can be charged.

        succeeded: nothing to confirm (the default: the sandbox charges its test users directly);
        pending: the user opens `provider_params` in the mini-program, the answer comes by notification
        (paylater.confirmed / paylater.refused) or by query(out_order_no); provider_ref is the agreement."""
        return OpResult("succeeded")

    def close_pay_later(self, out_order_no: str, agreement_ref: str | None, reason: str) -> OpResult:
        """Close the pay-later order opened by open_pay_later(out_order_no) when it ends without a charge
        (`agreement_ref`: the confirmed agreement, if it was confirmed). Idempotent: an order already
        closed or cancelled at the provider, or never created there, is a success. failed: the provider
        refuses to close it (e.g. already charged); ProviderError: unknown for now, ask again later.
        The default (the sandbox keeps nothing open) succeeds at once."""
        return OpResult("succeeded", agreement_ref)

    def open_installments(
        self, out_request_no: str, member_ref: str, amount: int, periods: int, title: str
    ) -> OpResult:
        """Open an interest-free installment payment of `amount` in `periods` (fee on the merchant).

        succeeded: nothing for the user to do; the charge engine charges the order with charge() (the
        default: the sandbox). pending: the user pays the trade from `provider_params` in the mini-program;
        the payment is the charge `out_request_no`, answered by charge.succeeded/failed or query()."""
        return OpResult("succeeded")

    @abstractmethod
    def charge(
        self, out_request_no: str, member_ref: str, amount: int, description: str, *, agreement_ref: str | None = None
    ) -> OpResult:
        """Take `amount`; `agreement_ref`: the confirmed pay-later order it is charged under, if any."""

    @abstractmethod
    def refund(
        self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *, charged_total: int | None = None
    ) -> OpResult:
        """Give back `amount` of a charge; `charged_total`: the whole charge (WeChat requires it).
        `charge_ref`: the provider_ref a charge or a settle_freeze line answered."""

    @abstractmethod
    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult: ...

    @abstractmethod
    def query(self, out_request_no: str) -> OpResult | None:
        """Reconciliation: what the provider knows of one of our requests (None: never seen)."""

    @abstractmethod
    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        """Verify the signature over the raw body, then parse; raises InvalidSignature."""

    def send_reminder(self, member_ref: str, reminder: Reminder) -> OpResult:
        """Member-day reminder through the provider's own channel (WeChat subscribe message, Alipay
        mini-program template message). A provider without one sends nothing."""
        return OpResult("failed", reason="not_offered")

    def bill(self, day: date) -> list[BillLine]:
        """The provider's bill of money moved on `day` (UTC): one line per payment, capture or refund,
        named by our request number, amount in fen. Raises BillUnavailable when it cannot be had."""
        raise BillUnavailable(f"{self.name or 'this provider'} serves no bill")

    def service_bill(self, day: date) -> list[BillLine]:
        """The credit service's own bill of `day` (WeChat Pay Score's merchant bill): its orders' collections,
        named by our request numbers. A provider without one is not configured for it (no report)."""
        raise ProviderNotConfigured(f"{self.name or 'this provider'} serves no credit-service bill")

    def service_bill_scope(self, ours: Iterable[BillLine]) -> list[BillLine]:
        """Which of our ledger lines with this provider the credit-service bill covers."""
        return list(ours)

    def ack(self) -> Ack:
        return Ack(200, '{"status":"ok"}', "application/json")

    def nack(self) -> Ack:
        """What makes the provider send the notification again: verified, but it could not be applied."""
        return Ack(503, '{"status":"retry"}', "application/json")
