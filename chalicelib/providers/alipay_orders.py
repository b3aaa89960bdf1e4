"""Alipay pay later (芝麻先享, Zhima pay-after-use), Huabei installments and refunds: part of AlipayProvider.

Zhima 先享: the user confirms a credit order (zhima.credit.payafteruse.creditbizorder.create, opened in the
mini-program); the merchant deducts once under it (alipay.trade.pay); Alipay then collects from the user and
settles with the merchant itself, and the order completes by itself (TRADE_FINISHED). An order ended without a
charge is finished with zhima.credit.payafteruse.creditbizorder.finish, is_fulfilled "false" (there is no
creditbizorder.cancel in the SDK).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..domain.errors import ProviderError, ValidationFailed
from . import alipay_format as fmt
from . import ledger
from .alipay_client import BUSINESS_FAILURE, OK
from .base import OpResult

# ZhimaCreditPayafteruseCreditbizorderQueryResponse.cs order_status (先用后付): INIT = ordered and confirmed
# by the user (chargeable), TRADE_FINISHED = deducted, TRADE_CLOSED = cancelled or fully refunded.
CREDIT_ORDER_STATUS = {"INIT": "succeeded", "TRADE_FINISHED": "succeeded", "TRADE_CLOSED": "failed"}
ORDER_NOT_FOUND = {"ORDER_NOT_EXIST"}
IN_PROCESS = "10003"


class AlipayOrders:
    """Mixed into AlipayProvider (which provides call, settings, deps, _remember, trade_result, query, buyer)."""

    name: str
    deps: Any

    # -- pay later ------------------------------------------------------------------------------
    def open_pay_later(
        self, out_order_no: str, member_ref: str, amount: int, title: str, charge_at: datetime
    ) -> OpResult:
        """A signed creditbizorder.create string the mini-program opens (no call from here); the user's
        confirmation comes by the credit order's change message or creditbizorder.query."""
        op = self._remember(out_order_no, "paylater", amount=amount)
        biz = {
            "zm_service_id": self.settings.alipay_service_id,  # CreditbizorderCreateModel.cs zm_service_id
            "out_order_no": op["wire"],  # out_order_no: unique per merchant
            "subject": fmt.plain_subject(title),  # subject: no / = &
            "order_amount": fmt.positive_yuan(int(op["amount"])),  # order_amount: the most one deduction takes
            "product_code": "CREDIT_PAY_AFTER_USE",  # product_code: 芝麻先享
        }
        ledger.remember(
            self.deps.table,
            self.name,
            f"{out_order_no}#app",
            "app_order",
            method="zhima.credit.payafteruse.creditbizorder.create",
            biz=json.dumps(biz, ensure_ascii=False),
        )
        order_str = self.client.order_string(
            "zhima.credit.payafteruse.creditbizorder.create", biz, notify_url=self.settings.alipay_notify_url
        )
        return OpResult("pending", provider_params={"order_str": order_str})

    def close_pay_later(self, out_order_no: str, agreement_ref: str | None, reason: str) -> OpResult:
        """End the credit order without a charge: creditbizorder.finish with is_fulfilled "false" (the user's
        record shows it cancelled, not broken) and a reason. Never confirmed (not found) or closed = done."""
        query = {"out_order_no": fmt.wire_no(out_order_no)}  # CreditbizorderQueryModel.cs out_order_no
        state = self.call("zhima.credit.payafteruse.creditbizorder.query", query)
        if state["code"] != OK:
            if state.get("sub_code") in ORDER_NOT_FOUND:
                return OpResult("succeeded", agreement_ref, reason="never confirmed")
            raise ProviderError(f"alipay credit order state unknown: {state.get('sub_code')}")
        order_id = state.get("credit_biz_order_id") or agreement_ref
        if state.get("order_status") == "TRADE_CLOSED":
            return OpResult("succeeded", order_id, reason="already closed")
        if state.get("order_status") == "TRADE_FINISHED":
            return OpResult("failed", order_id, reason="already charged")
        node = self.call(
            "zhima.credit.payafteruse.creditbizorder.finish",
            {
                "credit_biz_order_id": order_id,  # CreditbizorderFinishModel.cs credit_biz_order_id
                "out_request_no": fmt.wire_no(f"{out_order_no}_close"),  # out_request_no
                "is_fulfilled": "false",  # is_fulfilled: "false" = cancelled in the user's Zhima record
                "remark": fmt.text_limit(reason or "cancelled", 100),  # CreditbizorderFinishModel.cs remark
            },
        )
        if node["code"] == OK:
            return OpResult("succeeded", order_id)
        return self._failed(node)

    def credit_order_state(self, op: dict) -> OpResult:
        """Not found until the user confirms; INIT once confirmed (its credit_biz_order_id is the agreement the
        charge goes under), TRADE_CLOSED if cancelled."""
        node = self.call("zhima.credit.payafteruse.creditbizorder.query", {"out_order_no": op.get("wire")})
        if node["code"] != OK:
            return OpResult("pending", reason=node.get("sub_code"))
        status = CREDIT_ORDER_STATUS.get(node.get("order_status", ""), "pending")
        return OpResult(status, node.get("credit_biz_order_id"))

    def charge(
        self, out_request_no: str, member_ref: str, amount: int, description: str, *, agreement_ref: str | None = None
    ) -> OpResult:
        """The one deduction under a confirmed Zhima credit order: alipay.trade.pay with our own out_trade_no per
        attempt, asynchronous (10003) until Alipay settles; the result comes by trade notification or query."""
        if not agreement_ref:
            raise ProviderError("alipay pay-later charges need the confirmed Zhima credit order")
        op = self._remember(out_request_no, "charge", amount=amount, credit_biz_order_id=agreement_ref)
        if op.get("sent"):  # a resumed attempt: ask what became of it instead of paying again
            return self.query(out_request_no) or OpResult("pending")
        node = self.call(
            "alipay.trade.pay",
            {
                "out_trade_no": op["wire"],  # AlipayTradePayModel.cs out_trade_no: [A-Za-z0-9_]
                "auth_code": op["credit_biz_order_id"],  # the credit order deducted under (unverified, see report)
                "scene": "ZHIMA_CREDIT_CODE",
                "product_code": "GENERAL_WITHHOLDING",  # 代扣产品
                "total_amount": fmt.positive_yuan(int(op["amount"])),
                "subject": fmt.plain_subject(description),
                "body": fmt.text_limit(description, 128) or None,  # body: the lines the user reads
                "is_async_pay": True,  # is_async_pay: 代扣 accepted first, pushed on asynchronously
                "extend_params": {"creditTradeScene": "CREDIT_PAY_UNCERTAIN_FEE"},
            },
            accept=(OK, BUSINESS_FAILURE, IN_PROCESS),
            notify_url=self.settings.alipay_notify_url,
        )
        ledger.note(self.deps.table, self.name, out_request_no, sent=True)
        if node.get("sub_code") == "ACQ.TRADE_HAS_SUCCESS":
            return self.query(out_request_no) or OpResult("pending")
        return self.trade_result(node)

    # -- installments ---------------------------------------------------------------------------
    def open_installments(
        self, out_request_no: str, member_ref: str, amount: int, periods: int, title: str
    ) -> OpResult:
        """Interest-free Huabei installments: alipay.trade.create with extend_params hb_fq_num and
        hb_fq_seller_percent 100 (the fee on the merchant); the mini-program pays trade_no (my.tradePay)."""
        if periods not in (3, 6, 12):
            raise ValidationFailed("installments must be 3, 6 or 12", "installments")
        op = self._remember(out_request_no, "charge", amount=amount, periods=periods)
        node = self.call(
            "alipay.trade.create",
            {
                "out_trade_no": op["wire"],
                "total_amount": fmt.positive_yuan(int(op["amount"])),
                "subject": fmt.plain_subject(title),
                "product_code": "JSAPI_PAY",  # AlipayTradeCreateModel.cs
                "timeout_express": f"{self.settings.policy.installment_pay_minutes}m",  # 1m..15d
                "extend_params": {"hb_fq_num": str(int(op["periods"])), "hb_fq_seller_percent": "100"},
                **self.buyer(member_ref, op_app=True),
            },
            notify_url=self.settings.alipay_notify_url,
        )
        if node["code"] != OK:
            return self._failed(node)
        return OpResult("pending", node.get("trade_no"), provider_params={"trade_no": node.get("trade_no")})

    # -- refunds --------------------------------------------------------------------------------
    def refund(
        self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *, charged_total: int | None = None
    ) -> OpResult:
        """alipay.trade.refund (AlipayTradeRefundModel.cs: trade_no, refund_amount, out_request_no: the same
        number never refunds twice). A refund sent before whose answer was lost is settled with
        alipay.trade.fastpay.refund.query first, and sent again only if Alipay never saw it."""
        op = self._remember(out_request_no, "refund", trade_no=charge_ref, amount=amount)
        if op.get("sent"):
            known = self.refund_state(op)
            if known is not None:
                return known
        ledger.note(self.deps.table, self.name, out_request_no, sent=True)
        node = self.call(
            "alipay.trade.refund",
            {
                # AlipayTradeRefundModel.java trade_no "支付宝交易号": the trade_no the payment answered
                # (AlipayTradePayResponse.java trade_no; for a rental, each capture under auth_no is its own trade:
                # never the auth_no, which names the fund authorization, not a trade)
                "trade_no": op["trade_no"],
                "refund_amount": fmt.positive_yuan(int(op["amount"])),  # refund_amount "不能大于订单金额", yuan
                # out_request_no "同一笔交易多次退款需要保证唯一，如需部分退款，则此参数必传"
                "out_request_no": op["wire"],
            },
        )
        if node["code"] != OK:
            return self._failed(node)
        if node.get("fund_change") == "Y":  # AlipayTradeRefundResponse fund_change: money moved this time
            return OpResult("succeeded", node.get("trade_no"))
        return self.refund_state(op) or OpResult("pending", node.get("trade_no"))

    def refund_state(self, op: dict) -> OpResult | None:
        """alipay.trade.fastpay.refund.query (AlipayTradeFastpayRefundQueryModel.cs trade_no + out_request_no):
        refund_status REFUND_SUCCESS = done; an answer without refund_amount = Alipay never saw the refund."""
        node = self.call(
            "alipay.trade.fastpay.refund.query", {"trade_no": op["trade_no"], "out_request_no": op.get("wire")}
        )
        if node["code"] != OK:
            return None if node.get("sub_code") == "ACQ.TRADE_NOT_EXIST" else OpResult("pending")
        if not node.get("refund_amount"):
            return None
        if node.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS":
            return OpResult("succeeded", node.get("trade_no"))
        return OpResult("pending", node.get("trade_no"))
