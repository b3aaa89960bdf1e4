"""Alipay: Zhima credit (admission at band edges) and fund authorization (预授权) for deposit-free rentals.

Outbound OpenAPI calls are RSA2-signed with the merchant key and every answer's signature is checked with
Alipay's public key before anything in it is believed. Notifications are verified over the raw form.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..clock import iso, parse_iso
from ..domain import request_numbers as numbers
from ..domain.credit import find_band
from ..domain.errors import InvalidSignature, ProviderError, ProviderNotConfigured, ValidationFailed
from . import alipay_format as fmt
from . import keys, ledger, transport
from .base import Ack, CreditAnswer, CreditProvider, Identity, Notification, OpResult

OK = "10000"
BUSINESS_FAILURE = "40004"
INVALID_ARGUMENTS = "40002"  # e.g. an expired or reused auth code
IN_PROCESS = "10003"  # trade.pay accepted, result not final yet
FREEZE_STATUS = {"SUCCESS": "succeeded", "CLOSED": "failed", "INIT": "pending"}
TRADE_STATUS = {"TRADE_SUCCESS": "succeeded", "TRADE_FINISHED": "succeeded", "TRADE_CLOSED": "failed",
                "WAIT_BUYER_PAY": "pending"}
# Zhima pay-after-use order: INIT = confirmed by the user (chargeable), FINISHED = charged, CLOSED = cancelled.
CREDIT_ORDER_STATUS = {"INIT": "succeeded", "TRADE_FINISHED": "succeeded", "TRADE_CLOSED": "failed"}
CLOSED_ORDER = {"TRADE_CLOSED", "CLOSED"}
CREDIT_ORDER_CHANGED = "zhima.credit.payafteruse.creditbizorder.changed"
NOT_FOUND_CODES = {"ACQ.TRADE_NOT_EXIST", "ORDER_NOT_EXIST", "AUTH_ORDER_NOT_EXIST", "OPERATION_NOT_EXIST"}


class AlipayProvider(CreditProvider):
    """Zhima credit + fund authorization behind the provider port."""

    name = "alipay"
    confirms_in_app = True

    def __init__(self, deps: Any, send: Any = None) -> None:
        self.deps = deps
        self._send = send or transport.send
        self._keys: tuple[Any, Any] | None = None

    # -- plumbing ------------------------------------------------------------------------
    @property
    def settings(self) -> Any:
        return self.deps.settings

    def _key_pair(self) -> tuple[Any, Any]:
        """(merchant private key, Alipay public key), loaded once per container."""
        if self._keys is None:
            if not self.settings.alipay_public_key:
                raise ProviderNotConfigured("alipay is not configured (CREDITFIRST_ALIPAY_PUBLIC_KEY)")
            private = keys.load_private_key(self.settings.alipay_private_key) \
                if self.settings.alipay_private_key else None
            self._keys = (private, keys.load_public_key(self.settings.alipay_public_key))
        return self._keys

    def signed_params(self, method: str, biz: dict | None = None, **top: str) -> dict[str, str]:
        """Common parameters + biz_content, signed RSA2 over the sorted non-empty parameters."""
        private, _ = self._key_pair()
        if private is None:
            raise ProviderNotConfigured("alipay is not configured (CREDITFIRST_ALIPAY_PRIVATE_KEY)")
        params = {"app_id": self.settings.alipay_app_id, "method": method, "format": "JSON", "charset": "utf-8",
                  "sign_type": "RSA2", "timestamp": fmt.beijing_time(self.deps.clock.now()), "version": "1.0",
                  **top}
        if biz is not None:
            params["biz_content"] = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        params = {k: v for k, v in params.items() if v not in (None, "")}
        params["sign"] = keys.sign(private, fmt.request_sign_content(params).encode("utf-8"))
        return params

    def call(self, method: str, biz: dict | None = None, accept: tuple[str, ...] = (OK, BUSINESS_FAILURE),
             **top: str) -> dict:
        """One OpenAPI call; returns the verified response node (code 10000 or a business failure)."""
        body = urlencode(self.signed_params(method, biz, **top)).encode("utf-8")
        resp = self._send("POST", self.settings.alipay_gateway, body,
                          {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        if resp.status != 200:
            raise ProviderError(f"alipay {method} answered HTTP {resp.status}")
        try:
            node, source, sign = fmt.signed_node(resp.body, method)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderError(f"alipay {method}: unreadable answer") from exc
        if sign is None or not keys.verify(self._key_pair()[1], source.encode("utf-8"), sign):
            # An unsigned error (bad app id, gateway trouble) is not trusted either way: retry later.
            raise ProviderError(f"alipay {method}: answer not signed by Alipay ({node.get('code')})")
        if "code" not in node and "sub_code" not in node:
            node["code"] = OK  # alipay.system.oauth.token answers success without a code
        if node.get("code") not in accept:
            raise ProviderError(f"alipay {method}: {node.get('code')} {node.get('sub_code') or node.get('msg')}")
        return node

    @staticmethod
    def _failed(node: dict) -> OpResult:
        return OpResult("failed", reason=node.get("sub_code") or node.get("msg") or "refused")

    def _remember(self, out_request_no: str, kind: str, **facts: Any) -> dict:
        return ledger.remember(self.deps.table, self.name, out_request_no, kind, **facts)

    # -- login and credit ------------------------------------------------------------------
    def login(self, code: str) -> Identity:
        node = self.call("alipay.system.oauth.token", accept=(OK, BUSINESS_FAILURE, INVALID_ARGUMENTS),
                         grant_type="authorization_code", code=code)
        user = node.get("user_id") or node.get("open_id")
        if node.get("code") != OK or not user:
            raise ValidationFailed("alipay refused the login code", "code")
        return Identity(str(user))

    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer:
        """Zhima admission answers only 'at or above X?': ask at band edges, keep only the band."""
        return CreditAnswer("granted", find_band(lambda edge: self._admitted(member_ref, out_request_no, edge)))

    def _admitted(self, member_ref: str, out_request_no: str, edge: int) -> bool:
        node = self.call("zhima.credit.score.brief.get", {
            "transaction_id": f"{out_request_no}-{edge}", "product_code": self.settings.alipay_zhima_product_code,
            "cert_type": "ALIPAY_USER_ID", "cert_no": member_ref, "admit_score": edge})
        if node.get("code") != OK:
            raise ProviderError(f"zhima admission failed: {node.get('sub_code')}")
        return node.get("is_admittance") == "Y"

    # -- fund authorization (deposit-free) -------------------------------------------------
    def freeze(self, out_order_no: str, out_request_no: str, member_ref: str, amount: int,
               title: str, expires_at: datetime) -> OpResult:
        """A signed order string the mini-program opens (my.tradePay); the result comes by notification."""
        op = self._remember(out_request_no, "freeze", out_order_no=out_order_no, amount=amount,
                            expires_at=iso(expires_at))
        extra = {"category": self.settings.alipay_freeze_category}
        if self.settings.alipay_service_id:
            extra["serviceId"] = self.settings.alipay_service_id
        params = self.signed_params("alipay.fund.auth.order.app.freeze", {
            "out_order_no": op["out_order_no"], "out_request_no": out_request_no, "order_title": title[:100],
            "amount": fmt.yuan(int(op["amount"])), "product_code": "PREAUTH_PAY",
            "timeout_express": "30m", "extra_param": json.dumps(extra, separators=(",", ":")),
            "deposit_product_mode": "DEPOSIT_ONLY"}, notify_url=self.settings.alipay_notify_url)
        return OpResult("pending", provider_params={"order_str": urlencode(sorted(params.items()))},
                        expires_at=expires_at)

    def release(self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *,
                fulfilled: bool = False) -> OpResult:
        self._remember(out_request_no, "release", auth_no=freeze_ref, amount=amount)
        node = self.call("alipay.fund.auth.order.unfreeze", {
            "auth_no": freeze_ref, "out_request_no": out_request_no, "amount": fmt.yuan(amount),
            "remark": "rental closed"}, notify_url=self.settings.alipay_notify_url)
        if node["code"] != OK:
            return self._failed(node)
        return OpResult(FREEZE_STATUS.get(node.get("status", ""), "pending"), node.get("operation_id"))

    def capture_from_freeze(self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int,
                            reason: str) -> OpResult:
        """Rent and deductions: alipay.trade.pay against the freeze.

        auth_confirm_mode NOT_COMPLETE: a capture never unfreezes anything by itself. The remainder is
        released exactly once, by our own alipay.fund.auth.order.unfreeze carrying its own request number
        (idempotent at Alipay). COMPLETE would release the rest on the first capture, so an operator's
        partial deduction would end the freeze and the later rent capture and release would both fail.
        """
        self._remember(out_request_no, "capture", auth_no=freeze_ref, amount=amount)
        node = self.call("alipay.trade.pay", {
            "out_trade_no": out_request_no, "total_amount": fmt.yuan(amount), "subject": reason[:128] or "rent",
            "product_code": "PREAUTH_PAY", "auth_no": freeze_ref, "auth_confirm_mode": "NOT_COMPLETE",
            "buyer_id": member_ref}, accept=(OK, BUSINESS_FAILURE, IN_PROCESS),
            notify_url=self.settings.alipay_notify_url)
        if node.get("sub_code") == "ACQ.TRADE_HAS_SUCCESS":  # a retry of a capture that went through
            return self.query(out_request_no) or OpResult("pending")
        return self._trade_result(node)

    def _trade_result(self, node: dict) -> OpResult:
        if node["code"] == IN_PROCESS:
            return OpResult("pending", node.get("trade_no"))
        if node["code"] != OK:
            return self._failed(node)
        status = TRADE_STATUS.get(node.get("trade_status", "TRADE_SUCCESS"), "pending")
        return OpResult(status, node.get("trade_no"))

    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult:
        """A cash deposit: alipay.trade.create gives the trade_no the mini-program pays; result by notification."""
        out_request_no = numbers.number(out_order_no, "deposit")
        self._remember(out_request_no, "deposit", amount=amount)
        node = self.call("alipay.trade.create", {
            "out_trade_no": out_request_no, "total_amount": fmt.yuan(amount), "subject": title[:128],
            "buyer_id": member_ref, "product_code": "JSAPI_PAY"}, notify_url=self.settings.alipay_notify_url)
        if node["code"] != OK:
            return self._failed(node)
        return OpResult("pending", node.get("trade_no"), provider_params={"trade_no": node.get("trade_no")})

    # -- pay later, refunds, fulfilment ----------------------------------------------------------
    def open_pay_later(self, out_order_no: str, member_ref: str, amount: int, title: str,
                       charge_at: datetime) -> OpResult:
        """Zhima pay-after-use, user-confirmed: a signed creditbizorder.create string the mini-program opens.
        Signing is local (no call); the user's confirmation comes by notification or creditbizorder.query."""
        op = self._remember(out_order_no, "paylater", amount=amount)
        biz = {"zm_service_id": self.settings.alipay_service_id, "out_order_no": out_order_no,
               "subject": title[:128], "order_amount": fmt.yuan(int(op["amount"])),
               "product_code": "CREDIT_PAY_AFTER_USE"}
        params = self.signed_params("zhima.credit.payafteruse.creditbizorder.create", biz,
                                    notify_url=self.settings.alipay_notify_url)
        return OpResult("pending", provider_params={"order_str": urlencode(sorted(params.items()))})

    def close_pay_later(self, out_order_no: str, agreement_ref: str | None, reason: str) -> OpResult:
        """zhima.credit.payafteruse.creditbizorder.cancel: the credit order ends without a charge. A refusal is
        checked with creditbizorder.query: closed already, or never confirmed by the user (not found), is done."""
        biz = {"out_order_no": out_order_no, "remark": reason[:128]}
        if agreement_ref and agreement_ref != out_order_no:
            biz["credit_biz_order_id"] = agreement_ref
        node = self.call("zhima.credit.payafteruse.creditbizorder.cancel", biz)
        if node["code"] == OK:
            return OpResult("succeeded", node.get("credit_biz_order_id") or agreement_ref)
        state = self.call("zhima.credit.payafteruse.creditbizorder.query", {"out_order_no": out_order_no})
        if state["code"] != OK and state.get("sub_code") in NOT_FOUND_CODES:
            return OpResult("succeeded", agreement_ref)  # never confirmed: nothing open at Alipay
        if state["code"] == OK and state.get("order_status") in CLOSED_ORDER:
            return OpResult("succeeded", state.get("credit_biz_order_id") or agreement_ref)
        return self._failed(node)

    def charge(self, out_request_no: str, member_ref: str, amount: int, description: str, *,
               agreement_ref: str | None = None) -> OpResult:
        """A pay-after-use charge: alipay.trade.pay against the confirmed credit order (auth_code), with our
        own out_trade_no per attempt. Asynchronous at Alipay: the result comes by trade notification or query."""
        if not agreement_ref:
            raise ProviderError("alipay pay-later charges need the confirmed Zhima credit order")
        op = self._remember(out_request_no, "charge", amount=amount, credit_biz_order_id=agreement_ref)
        if op.get("sent"):  # a resumed attempt: ask what became of it instead of paying again
            return self.query(out_request_no) or OpResult("pending")
        node = self.call("alipay.trade.pay", {
            "out_trade_no": out_request_no, "auth_code": op["credit_biz_order_id"], "scene": "ZHIMA_CREDIT_CODE",
            "product_code": "GENERAL_WITHHOLDING", "total_amount": fmt.yuan(int(op["amount"])),
            "subject": description[:128], "is_async_pay": True,
            "extend_params": {"creditTradeScene": "CREDIT_PAY_UNCERTAIN_FEE"}},
            accept=(OK, BUSINESS_FAILURE, IN_PROCESS), notify_url=self.settings.alipay_notify_url)
        ledger.note(self.deps.table, self.name, out_request_no, sent=True)
        if node.get("sub_code") == "ACQ.TRADE_HAS_SUCCESS":
            return self.query(out_request_no) or OpResult("pending")
        return self._trade_result(node)

    def open_installments(self, out_request_no: str, member_ref: str, amount: int, periods: int,
                          title: str) -> OpResult:
        """Interest-free Huabei installments: alipay.trade.create with hb_fq_num / hb_fq_seller_percent=100
        (the fee on the merchant); the mini-program pays trade_no with my.tradePay. Unpaid, Alipay closes it
        after the pay window. The payment comes by trade notification (charge.succeeded) or trade.query.
        A repeat (the same out_trade_no) answers the same trade at Alipay."""
        if periods not in (3, 6, 12):
            raise ValidationFailed("installments must be 3, 6 or 12", "installments")
        op = self._remember(out_request_no, "charge", amount=amount, periods=periods)
        node = self.call("alipay.trade.create", {
            "out_trade_no": out_request_no, "total_amount": fmt.yuan(int(op["amount"])), "subject": title[:128],
            "buyer_id": member_ref, "product_code": "JSAPI_PAY",
            "timeout_express": f"{self.settings.policy.installment_pay_minutes}m",
            "extend_params": {"hb_fq_num": str(int(op["periods"])), "hb_fq_seller_percent": "100"}},
            notify_url=self.settings.alipay_notify_url)
        if node["code"] != OK:
            return self._failed(node)
        return OpResult("pending", node.get("trade_no"), provider_params={"trade_no": node.get("trade_no")})

    def refund(self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *,
               charged_total: int | None = None) -> OpResult:
        self._remember(out_request_no, "refund", trade_no=charge_ref, amount=amount)
        node = self.call("alipay.trade.refund", {"trade_no": charge_ref, "refund_amount": fmt.yuan(amount),
                                                 "out_request_no": out_request_no})
        if node["code"] != OK:
            return self._failed(node)
        return OpResult("succeeded" if node.get("fund_change") == "Y" else "pending", node.get("trade_no"))

    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult:
        # Zhima learns the outcome from the fund authorization itself (unfrozen in full vs. paid from):
        # there is no separate call to make for a deposit-free rental.
        return OpResult("succeeded", out_request_no)

    # -- reconciliation ------------------------------------------------------------------------
    def query(self, out_request_no: str) -> OpResult | None:
        op = ledger.recall(self.deps.table, self.name, out_request_no)
        if op is None:
            return None
        if op["kind"] in ("freeze", "release"):
            biz = {"out_request_no": out_request_no, "operation_type": "FREEZE" if op["kind"] == "freeze"
                   else "UNFREEZE"}
            biz.update({"out_order_no": op["out_order_no"]} if op.get("out_order_no") else {"auth_no": op["auth_no"]})
            node = self.call("alipay.fund.auth.operation.detail.query", biz)
            if node["code"] != OK:
                return self._unknown(node)
            expires = op.get("expires_at")
            return OpResult(FREEZE_STATUS.get(node.get("status", ""), "pending"), node.get("auth_no"),
                            expires_at=parse_iso(expires) if expires else None)
        if op["kind"] == "paylater":
            return self._credit_order_state(out_request_no)
        if op["kind"] == "refund":
            node = self.call("alipay.trade.fastpay.refund.query", {"trade_no": op["trade_no"],
                                                                    "out_request_no": out_request_no})
            done = node["code"] == OK and node.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS" \
                and node.get("refund_amount")
            return OpResult("succeeded", node.get("trade_no")) if done else None
        node = self.call("alipay.trade.query", {"out_trade_no": out_request_no})
        if node["code"] != OK:
            return self._unknown(node)
        return self._trade_result(node)

    def _credit_order_state(self, out_order_no: str) -> OpResult:
        """A pay-after-use order: not found until the user confirms it, INIT once confirmed (the credit
        order id is the agreement the charges go under), TRADE_CLOSED if cancelled."""
        node = self.call("zhima.credit.payafteruse.creditbizorder.query", {"out_order_no": out_order_no})
        if node["code"] != OK:
            return OpResult("pending", reason=node.get("sub_code"))
        status = CREDIT_ORDER_STATUS.get(node.get("order_status", ""), "pending")
        return OpResult(status, node.get("credit_biz_order_id"))

    @staticmethod
    def _unknown(node: dict) -> OpResult | None:
        """A query that could not answer: never seen (None), or unknown for now (pending, ask again later).
        A failed query is not a failed operation, so it never settles anything as failed."""
        return None if node.get("sub_code") in NOT_FOUND_CODES else OpResult("pending", reason=node.get("sub_code"))

    # -- notifications ---------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        params = fmt.parse_form(raw_body)
        fmt.verify_notification(params, self._key_pair()[1])
        app_id = self.settings.alipay_app_id
        if app_id and params.get("app_id") != app_id:
            raise InvalidSignature("alipay notification for another app")
        return self.to_notification(params)

    def to_notification(self, params: dict[str, str]) -> Notification:
        """A verified notification in neutral form; kinds no handler knows are acknowledged and logged."""
        notify_type = params.get("notify_type", "")
        if notify_type == "fund_auth_freeze":
            return self._freeze_notification(params)
        if notify_type == "trade_status_sync":
            return self._trade_notification(params)
        if params.get("msg_method") == CREDIT_ORDER_CHANGED:
            return self._credit_order_notification(params)
        return Notification(_notify_id(params), f"alipay.{notify_type or 'unknown'}",
                            params.get("out_request_no") or params.get("out_trade_no"), data=dict(params))

    def _freeze_notification(self, params: dict[str, str]) -> Notification:
        op = ledger.recall(self.deps.table, self.name, params.get("out_request_no")) or {}
        status = FREEZE_STATUS.get(params.get("status", ""), "pending")
        kind = {"succeeded": "freeze.succeeded", "failed": "freeze.failed"}.get(status, "freeze.pending")
        return Notification(_notify_id(params), kind, params.get("out_request_no"), params.get("auth_no"),
                            fmt.fen(params.get("amount")),
                            data={"expires_at": op.get("expires_at"), "operation_id": params.get("operation_id"),
                                  "reason": None if status == "succeeded" else params.get("status")})

    def _trade_notification(self, params: dict[str, str]) -> Notification:
        out_trade_no = params.get("out_trade_no")
        if params.get("refund_fee") or params.get("out_biz_no"):
            kind = "refund.succeeded"  # a refund's echo on the trade; the refund call already settled it
        else:
            op = ledger.recall(self.deps.table, self.name, out_trade_no) or {}
            family = "deposit" if op.get("kind") == "deposit" else "charge"
            status = TRADE_STATUS.get(params.get("trade_status", ""), "pending")
            outcome = {"succeeded": "paid" if family == "deposit" else "succeeded", "failed": "failed"}
            kind = f"{family}.{outcome.get(status, 'pending')}"
        return Notification(_notify_id(params), kind, out_trade_no, params.get("trade_no"),
                            fmt.fen(params.get("total_amount")),
                            data={"trade_status": params.get("trade_status"), "buyer_id": params.get("buyer_id"),
                                  "paid_at": params.get("gmt_payment")})

    def _credit_order_notification(self, params: dict[str, str]) -> Notification:
        """The message service's credit-order change: INIT is the user's confirmation, CLOSED a refusal."""
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError as exc:
            raise InvalidSignature("alipay message without readable biz_content") from exc
        status = {"INIT": "paylater.confirmed", "TRADE_CLOSED": "paylater.refused"}.get(biz.get("order_status"))
        return Notification(_notify_id(params), status or f"alipay.credit_order.{biz.get('order_status')}",
                            biz.get("out_order_no"), biz.get("credit_biz_order_id"), data={"status": biz.get("order_status")})

    def ack(self) -> Ack:
        return Ack(200, "success", "text/plain")

    def nack(self) -> Ack:
        # Anything but the 7 characters `success` and Alipay resends (8 times within about 25 h), keeping the
        # notify_id: https://opendocs.alipay.com/open/270/105902 (异步通知, 服务器异步通知页面特性).
        return Ack(200, "fail", "text/plain")


def _notify_id(params: dict[str, str]) -> str:
    """Alipay's notify_id: what a retried notification repeats, so what we dedupe on."""
    if not params.get("notify_id"):
        raise InvalidSignature("alipay notification without notify_id")
    return params["notify_id"]
