"""WeChat Pay Score (微信支付分, 需确认模式) behind the provider port: credit consent, 先免 service orders whose
risk fund (DEPOSIT) stands in for a deposit, 先享 service orders (ESTIMATE_ORDER_COST) for pay later and bookings,
collections, refunds. A service order cannot be captured from while live and its amount can never be raised,
so everything a rental owes is taken by one /complete at settlement (captures_live = False).

Wire: wechat_client (signed v3 calls, Wechatpay-Serial, 429 backoff), wechat_certs (platform keys and the daily
certificate refresh), wechat_orders (service-order states), wechat_params (limits, signed mini-program params),
wechat_events (notifications). Amounts are integer fen on the wire already.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from typing import Any, Iterable, Sequence
from urllib.parse import urlencode

from ..clock import iso
from ..domain.errors import InvalidSignature, ProviderError, ProviderNotConfigured, ValidationFailed
from ..domain.reconciliation import BillLine
from ..domain.reminders import Reminder
from . import keys, ledger, transport, wechat_bill, wechat_events, wechat_payscore_bill, wechat_query
from . import wechat_format as fmt
from . import wechat_orders as orders
from . import wechat_params as params
from .base import Ack, CreditAnswer, CreditProvider, Identity, Notification, OpResult
from .wechat_certs import PlatformKeys
from .wechat_client import V3Client
from .wechat_messages import SubscribeMessages
from .wechat_params import Item, order_no

__all__ = ["WechatProvider", "order_no"]

BAD_CODE = {40029, 40163, 40226}  # invalid, already used, or risky login code: the caller's input


class WechatProvider(CreditProvider):
    """WeChat Pay Score behind the provider port."""

    name = "wechat"
    confirms_in_app = True
    offers_installments = False  # no Huabei on WeChat Pay: installment orders are refused at creation
    captures_live = False  # a live service order is never captured from: every line is taken at completion
    bill_utc_offset_hours = 8  # a bill_date is a Beijing day (wechat_bill.py)

    def __init__(self, deps: Any, send: Any = None) -> None:
        self.deps = deps
        self.client = V3Client(self, send or transport.send)
        self.keys = PlatformKeys(self)
        self._private: Any = None

    @property
    def settings(self) -> Any:
        return self.deps.settings

    def merchant_key(self) -> Any:
        if self._private is None:
            if not self.settings.wechat_private_key:
                raise ProviderNotConfigured("wechat pay is not configured (CREDITFIRST_WECHAT_PRIVATE_KEY)")
            self._private = keys.load_private_key(self.settings.wechat_private_key)
        return self._private

    def platform_keys(self) -> dict[str, Any]:
        return self.keys.all()

    def refresh_keys(self) -> None:
        """Daily: download and store the platform certificates (no-op in public-key mode)."""
        self.keys.refresh()

    # -- the ledger of our service orders ------------------------------------------------------------
    def _remember(self, key: str, kind: str, **facts: Any) -> dict:
        return ledger.remember(self.deps.table, self.name, key, kind, **facts)

    def _order(self, number: str) -> tuple[dict, str]:
        """Our record of a service order and the service id it was created under (one per mode)."""
        record = ledger.recall(self.deps.table, self.name, number) or {}
        if record.get("kind") == "alias":
            record = ledger.recall(self.deps.table, self.name, record["of"]) or {}
        if record.get("kind") not in ("freeze", "paylater"):
            raise ProviderError(f"no wechat pay service order {number} on record")
        return record, self._service(record)

    def _service(self, record: dict) -> str:
        return (
            self.settings.wechat_deposit_service
            if record["kind"] == "freeze"
            else self.settings.wechat_pay_later_service
        )

    def _use_params(self, package: str | None) -> dict:
        if not package:
            raise ProviderError("wechat pay create answer without package")
        return params.use_params(
            self.settings.wechat_mch_id, package, self.settings.wechat_apiv2_key, int(self.deps.clock.now().timestamp())
        )

    def _create(
        self, key: str, kind: str, out_order_no: str, fund: str, amount: int, title: str, **facts: Any
    ) -> OpResult:
        """POST /v3/payscore/serviceorder (需确认: need_user_confirm true and NO openid; PL
        WeChatPayScoreServiceOrderBodyModel, PY payscore_create). The body is kept: re-sending it unchanged is how
        WeChat hands out a fresh package for the same order."""
        number = order_no(key)
        service = self.settings.wechat_deposit_service if kind == "freeze" else self.settings.wechat_pay_later_service
        body = {
            "out_order_no": number,
            "appid": self.settings.wechat_appid,
            "service_id": service,
            "service_introduction": params.clip(title, params.INTRODUCTION) or "信用服务",
            "time_range": {"start_time": "OnAccept"},  # PL TimeRange: the user's confirmation starts it
            "risk_fund": {
                "name": fund,
                "amount": amount,  # PL RiskFund: DEPOSIT (先免) / ESTIMATE_ORDER_COST
                "description": params.clip(title, params.DESCRIPTION) or fund,
            },
            "notify_url": self.settings.wechat_notify_url,
            "need_user_confirm": True,
        }
        record = self._remember(
            number,
            kind,
            order_no=number,
            of=out_order_no,
            request_no=key,
            amount=amount,
            body=json.dumps(body, ensure_ascii=False, sort_keys=True),
            **facts,
        )
        if number != key:
            self._remember(key, "alias", of=number)
        status, answer = self.client.call("POST", "/v3/payscore/serviceorder", json.loads(record["body"]))
        if status >= 300:
            return OpResult("failed", reason=answer.get("code") or f"http_{status}")
        return OpResult("pending", number, provider_params=self._use_params(answer.get("package")))

    def fresh_params(self, kind: str, out_order_no: str) -> dict | None:
        """A package lives one hour: for an order the user has not confirmed yet, re-send the identical create
        request (WeChat answers the same order with a new package); None once it is confirmed or gone."""
        alias = ledger.recall(self.deps.table, self.name, f"order-of-{out_order_no}") or {}
        for number in filter(None, (alias.get("of"), order_no(out_order_no))):  # the rental id or our number
            try:
                record, service = self._order(number)
                break
            except ProviderError:
                continue
        else:
            return None
        if orders.phase(orders.query(self, record["order_no"], service)) != "created":
            return None
        status, answer = self.client.call("POST", "/v3/payscore/serviceorder", json.loads(record["body"]))
        return self._use_params(answer.get("package")) if status < 300 else None

    # -- login and credit consent ---------------------------------------------------------------------
    def login(self, code: str) -> Identity:
        """Mini-program login (code2Session) gives the openid; the session key is never kept."""
        if not (self.settings.wechat_appid and self.settings.wechat_app_secret):
            raise ProviderNotConfigured("wechat login is not configured (CREDITFIRST_WECHAT_APPID, _APP_SECRET)")
        query = urlencode(
            {
                "appid": self.settings.wechat_appid,
                "secret": self.settings.wechat_app_secret,
                "js_code": code,
                "grant_type": "authorization_code",
            }
        )
        resp = self.client.send(
            "GET",
            f"{self.settings.wechat_login_gateway.rstrip('/')}/sns/jscode2session?{query}",
            None,
            {"Accept": "application/json"},
        )
        answer = json.loads(resp.body or b"{}") if resp.status == 200 else {}
        if answer.get("errcode") in BAD_CODE:
            raise ValidationFailed("wechat refused the login code", "code")
        if not answer.get("openid"):
            raise ProviderError(f"wechat login failed ({answer.get('errcode', resp.status)})")
        return Identity(answer["openid"])

    def send_reminder(self, member_ref: str, reminder: Reminder) -> OpResult:
        """The member-day reminder as a subscribe message (wechat_messages.py): needs the app's secret and the
        operator's template id (CREDITFIRST_WECHAT_REMINDER_TEMPLATE); the member must have subscribed."""
        if not (
            self.settings.wechat_appid and self.settings.wechat_app_secret and self.settings.wechat_reminder_template
        ):
            return OpResult("failed", reason="not_configured")
        return SubscribeMessages(self.deps, self.client.send).send(
            member_ref, reminder, self.settings.wechat_reminder_template, self.settings.wechat_reminder_state
        )

    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer:
        """Pay Score consent (PY payscore_permission: service_id, appid, authorization_code, notify_url); the
        mini-program opens the token, the answer comes by PAYSCORE.USER_OPEN_SERVICE."""
        code = order_no(out_request_no)
        self._remember(code, "consent", member_ref=member_ref, of=out_request_no)
        status, answer = self.client.call(
            "POST",
            "/v3/payscore/permissions",
            {
                "service_id": self.settings.wechat_deposit_service,
                "appid": self.settings.wechat_appid,
                "authorization_code": code,
                "notify_url": self.settings.wechat_notify_url,
            },
        )
        if status >= 300:
            return CreditAnswer("declined")
        return CreditAnswer("pending", provider_params=params.enable_params(answer.get("apply_permissions_token", "")))

    # -- 先免: deposit-free rentals --------------------------------------------------------------------
    def freeze(
        self, out_order_no: str, out_request_no: str, member_ref: str, amount: int, title: str, expires_at: datetime
    ) -> OpResult:
        self._remember(f"order-of-{out_order_no}", "alias", of=order_no(out_request_no))
        result = self._create(
            out_request_no,
            "freeze",
            out_order_no,
            "DEPOSIT",
            amount,
            title,
            expires_at=iso(expires_at),
            member_ref=member_ref,
        )
        # No lapse: a confirmed service order (time_range.start_time OnAccept, no end_time: PL TimeRange) holds
        # its risk fund until we complete or cancel it, so the rental is never re-frozen under a second order.
        return OpResult(result.status, result.provider_ref, result.reason, result.provider_params, None)

    def capture_from_freeze(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, reason: str
    ) -> OpResult:
        """Never sent: a live Pay Score order cannot be captured from (captures_live False); the services take
        such an amount as a line of settle_freeze."""
        return OpResult("failed", freeze_ref, "captured_at_completion")

    def settle_freeze(
        self,
        out_request_no: str,
        freeze_ref: str,
        member_ref: str,
        lines: Sequence[Any],
        release: int,
        *,
        fulfilled: bool,
    ) -> list[OpResult]:
        """One /complete with every line (rent, overdue, deductions) - the rest of the risk fund ends with it;
        nothing owed and returned on time: a 0 completion (the positive record); nothing owed otherwise: cancel.
        A defaulted rental is completed for what it owes too: Pay Score collects it and records the unpaid."""
        record, service = self._order(freeze_ref)
        items = [Item(str(line.name), int(line.amount), str(line.description or line.name)) for line in lines]
        self._remember(
            out_request_no,
            "settle",
            order_no=record["order_no"],
            release=release,
            fulfilled=fulfilled,
            # the bill's one collection, split back into our lines (wechat_bill)
            lines=[{"no": str(line.out_request_no), "amount": int(line.amount)} for line in lines if line.amount],
        )
        if sum(i.amount for i in items) > 0 or fulfilled:
            result = orders.complete(
                self,
                record["order_no"],
                service,
                items or [Item("rent", 0, "returned on time")],
                for_request=out_request_no,
            )
        else:
            result = orders.cancel(self, record["order_no"], service, params.REASON_NOTHING_OWED)
        ledger.note(self.deps.table, self.name, out_request_no, status=result.status, reason=result.reason)
        # one result per line taken, then the release's (the port's shape); a line's provider_ref is the order,
        # whose payment (collection.details[].transaction_id) a later refund of the line goes against
        return [
            OpResult(result.status, freeze_ref, result.reason) for _ in range(sum(1 for i in items if i.amount) + 1)
        ]

    def release(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *, fulfilled: bool = False
    ) -> OpResult:
        """Release all with nothing taken: completed at 0 when fulfilled, else cancelled. Already completed or
        cancelled: nothing is frozen any more."""
        if fulfilled:
            return self.settle_freeze(out_request_no, freeze_ref, member_ref, [], amount, fulfilled=True)[-1]
        self._remember(out_request_no, "release", order_no=freeze_ref, amount=amount)
        result = self._cancel(freeze_ref, params.REASON_NOTHING_OWED, completed_ok=True)
        ledger.note(self.deps.table, self.name, out_request_no, status=result.status, reason=result.reason)
        return result

    def cancel_freeze(self, out_order_no: str, out_request_no: str) -> OpResult:
        """A freeze we no longer want: never created (nothing on record) or cancelled already is success."""
        number = order_no(out_request_no)
        if ledger.recall(self.deps.table, self.name, number) is None:
            return OpResult("succeeded", number)
        return self._cancel(number, params.REASON_CANCELLED)

    def _cancel(self, number: str, reason: str, completed_ok: bool = False) -> OpResult:
        record, service = self._order(number)
        result = orders.cancel(self, record["order_no"], service, reason)
        if completed_ok and result.reason == "ORDER_COMPLETED":
            result = OpResult("succeeded", number)
        ledger.note(self.deps.table, self.name, record["order_no"], closed=result.status)
        return result

    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult:
        """A cash deposit by JSAPI payment (GO services/payments/jsapi PrepayRequest: appid, mchid, description,
        out_trade_no, notify_url, amount.total, payer.openid); the mini-program gets wx.requestPayment params."""
        number = order_no(f"{out_order_no}_deposit")
        self._remember(number, "deposit", amount=amount, of=f"{out_order_no}_deposit")
        status, answer = self.client.call(
            "POST",
            "/v3/pay/transactions/jsapi",
            {
                "appid": self.settings.wechat_appid,
                "mchid": self.settings.wechat_mch_id,
                "description": params.clip(title, 127) or "deposit",
                "out_trade_no": number,
                "notify_url": self.settings.wechat_notify_url,
                "amount": {"total": amount, "currency": "CNY"},
                "payer": {"openid": member_ref},
            },
        )
        if status >= 300:
            return OpResult("failed", reason=answer.get("code") or f"http_{status}")
        ts, nonce = str(int(self.deps.clock.now().timestamp())), secrets.token_hex(16)
        package = f"prepay_id={answer.get('prepay_id')}"
        message = f"{self.settings.wechat_appid}\n{ts}\n{nonce}\n{package}\n".encode()
        return OpResult(
            "pending",
            number,
            provider_params={
                "appId": self.settings.wechat_appid,
                "timeStamp": ts,
                "nonceStr": nonce,
                "package": package,
                "signType": "RSA",
                "paySign": keys.sign(self.merchant_key(), message),
            },
        )

    # -- 先享: pay later and bookings -------------------------------------------------------------------
    def open_pay_later(
        self, out_order_no: str, member_ref: str, amount: int, title: str, charge_at: datetime
    ) -> OpResult:
        """The service order the user confirms (PAYSCORE.USER_CONFIRM); its number is the agreement charged."""
        return self._create(
            out_order_no, "paylater", out_order_no, "ESTIMATE_ORDER_COST", amount, title, member_ref=member_ref
        )

    def close_pay_later(self, out_order_no: str, agreement_ref: str | None, reason: str) -> OpResult:
        number = order_no(out_order_no)
        if ledger.recall(self.deps.table, self.name, number) is None:
            return OpResult("succeeded", number)  # never sent to WeChat
        return self._cancel(number, params.reason(reason))

    def open_installments(
        self, out_request_no: str, member_ref: str, amount: int, periods: int, title: str
    ) -> OpResult:
        raise ValidationFailed(
            "WeChat Pay offers no interest-free installments; use kind pay_later",
            "kind",
            code="installments_not_offered",
        )

    def charge(
        self, out_request_no: str, member_ref: str, amount: int, description: str, *, agreement_ref: str | None = None
    ) -> OpResult:
        """Complete the confirmed order with the amount owed; Pay Score then collects it (PAYSCORE.USER_PAID or
        the order's collection on query). Completed once: a later attempt reports the collection."""
        if not agreement_ref:
            raise ProviderError("wechat pay-later charges need a confirmed Pay Score order")
        record, service = self._order(agreement_ref)
        self._remember(out_request_no, "charge", order_no=record["order_no"], amount=amount)
        line = Item(description or "pay later", amount, description or "pay later")
        result = orders.complete(self, record["order_no"], service, [line], for_request=out_request_no)
        if not result.ok:
            return result
        return orders.collection(orders.query(self, record["order_no"], service), record["order_no"])

    def request_collection(self, out_request_no: str, agreement_ref: str) -> OpResult:
        """A completed charge still unpaid: ask Pay Score to collect again (/pay), at most daily by our sweep."""
        record, service = self._order(agreement_ref)
        return orders.request_payment(self, record["order_no"], service)

    def record_offline_payment(self, agreement_ref: str, paid_at: datetime) -> OpResult:
        """The user paid another way: /sync Order_Paid ends Pay Score's collection (not in the port yet)."""
        record, service = self._order(agreement_ref)
        return orders.record_paid(self, record["order_no"], service, paid_at)

    def refund(
        self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *, charged_total: int | None = None
    ) -> OpResult:
        """Domestic refund of the collected transaction (GO refunddomestic CreateRequest/AmountReq: amount.total
        is the transaction's whole total); out_refund_no is our number, so a repeat is the same refund.
        `charge_ref` may name one of our service orders (a rental's settlement, a pay-later charge answered before
        Pay Score collected it): its payment is looked up first, pending until the order is paid."""
        op = ledger.recall(self.deps.table, self.name, out_request_no)
        if op is None:  # first time: the transaction refunded and its total are fixed now, kept for repeats
            payment = self._payment(charge_ref, charged_total)
            if payment is None:
                return OpResult("pending", charge_ref, "not_paid_yet")
            op = self._remember(out_request_no, "refund", transaction_id=payment[0], amount=amount, total=payment[1])
        if op.get("sent"):  # asked before (answer pending or lost): GET .../refunds/{out_refund_no} first
            known = wechat_query.query(self, out_request_no)
            if known is not None:
                return known
        ledger.note(self.deps.table, self.name, out_request_no, sent=True)
        status, answer = self.client.call(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                # GO refunddomestic CreateRequest TransactionId (微信支付订单号)
                "transaction_id": op["transaction_id"],
                "out_refund_no": out_request_no,  # CreateRequest OutRefundNo: the same number never refunds twice
                "notify_url": self.settings.wechat_notify_url,  # CreateRequest NotifyUrl: REFUND.* notices
                # AmountReq: Refund (this refund), Total (the original transaction's total), Currency CNY
                "amount": {"refund": int(op["amount"]), "total": int(op["total"]), "currency": "CNY"},
            },
        )
        if status >= 300:
            return OpResult("failed", reason=answer.get("code") or f"http_{status}")
        return wechat_query.refund_state(answer)

    def _payment(self, charge_ref: str, charged_total: int | None) -> tuple[str, int] | None:
        """(transaction_id, its total) a refund goes against. A service order of ours: the payment Pay Score
        collected for it (PL Collection details[]: CollectionDetail amount, paid_type NEWTON, transaction_id;
        present once the collection is USER_PAID); None while it is still collecting. A payment a user made
        another way (/sync, paid_type MCH) has no transaction: nothing WeChat can refund."""
        known = ledger.recall(self.deps.table, self.name, charge_ref)
        if known is None or known.get("kind") not in ("freeze", "paylater", "alias"):
            if not charged_total:
                raise ProviderError("wechat refunds need the original transaction total")
            return charge_ref, charged_total
        record, service = self._order(charge_ref)
        answer = orders.query(self, record["order_no"], service)
        if orders.phase(answer) != "done":
            return None
        detail = orders.payment(answer or {})
        if detail is None:
            raise ProviderError(f"wechat service order {record['order_no']} was paid without a wechat payment")
        return str(detail["transaction_id"]), int(detail["amount"])

    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult:
        # Pay Score records fulfilment from the service order itself (completed and paid, or not).
        return OpResult("succeeded", out_request_no)

    # -- reconciliation ----------------------------------------------------------------------------
    def bill(self, day: date) -> list[BillLine]:
        """The trade bill of Beijing day `day`, SHA1-checked (wechat_bill.py)."""
        return wechat_bill.fetch(self, day)

    def service_bill(self, day: date) -> list[BillLine]:
        """Pay Score's merchant bill of Beijing day `day`, per service id, decrypted and SHA1-checked
        (wechat_payscore_bill.py)."""
        return wechat_payscore_bill.fetch(self, day)

    def service_bill_scope(self, ours: Iterable[BillLine]) -> list[BillLine]:
        """Our ledger lines the Pay Score bill covers: its collections only (wechat_payscore_bill.covered)."""
        return wechat_payscore_bill.covered(self, ours)

    def query(self, out_request_no: str) -> OpResult | None:
        return wechat_query.query(self, out_request_no)

    # -- notifications -------------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        fmt.verify_signed(headers, raw_body, self.keys.lookup(headers), self.deps.clock.now())
        try:
            event = json.loads(raw_body)
        except ValueError as exc:
            raise InvalidSignature("wechat pay notification is not JSON") from exc
        if not isinstance(event, dict) or not event.get("id") or not isinstance(event.get("resource"), dict):
            raise InvalidSignature("wechat pay notification lacks id or resource")
        resource = fmt.decrypt_resource(event["resource"], self.settings.wechat_apiv3_key)
        return wechat_events.to_notification(self, event, resource)

    def ack(self) -> Ack:
        return Ack(204, "", "application/json")

    def nack(self) -> Ack:
        # Not received: HTTP 4XX/5XX with {"code": "FAIL", "message": ...}; WeChat Pay resends on its schedule:
        # https://pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/confirm-notification.html (回调验签与应答).
        return Ack(500, json.dumps({"code": "FAIL", "message": "not applied; send it again"}), "application/json")
