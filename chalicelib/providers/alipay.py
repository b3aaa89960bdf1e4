"""Alipay: Zhima credit (admission at band edges) and fund authorization (预授权) for deposit-free rentals.

Every field sent or read cites the official SDK model it comes from (alipay-sdk-java-all / alipay-sdk-net-all
v2 `Domain/<Name>Model.cs`, `Response/<Name>Response.cs`: the same generated models, the .NET copy is the
newest). Pay later, installments and refunds: alipay_orders.py; notifications: alipay_notify.py.

Users: an app created before 2023 identifies users by user_id (2088..., kept as the Identity as is); newer apps
get only open_id from login, kept as "openid:<open_id>" so every later call knows to send buyer_open_id (or
op_buyer_open_id) and never puts an open_id into buyer_id / cert_no.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from ..clock import iso, parse_iso
from ..domain import request_numbers as numbers
from ..domain.credit import find_band
from ..domain.errors import ProviderError, ProviderNotConfigured, ValidationFailed
from ..domain.reconciliation import BillLine
from ..domain.reminders import Reminder
from . import alipay_bill, alipay_notify, ledger
from . import alipay_format as fmt
from .alipay_client import BUSINESS_FAILURE, INVALID_ARGUMENTS, OK, AlipayClient
from .alipay_orders import AlipayOrders
from .base import Ack, CreditAnswer, CreditProvider, Identity, Notification, OpResult

OPEN_ID = "openid:"
IN_PROCESS = "10003"  # trade.pay accepted, result not final yet (AlipayTradePayResponse)
FREEZE_STATUS = {"SUCCESS": "succeeded", "CLOSED": "failed", "INIT": "pending"}  # DetailQueryResponse status
TRADE_STATUS = {  # AlipayTradeQueryResponse trade_status
    "TRADE_SUCCESS": "succeeded",
    "TRADE_FINISHED": "succeeded",
    "TRADE_CLOSED": "failed",
    "WAIT_BUYER_PAY": "pending",
}
# alipay.fund.auth.operation.detail.query errors (opendocs, mirrored at apifox 3618910 api-127338885)
FREEZE_NOT_FOUND = {"AUTH_ORDER_NOT_EXIST", "AUTH_OPERATION_NOT_EXIST"}
NOT_FOUND_CODES = FREEZE_NOT_FOUND | {"ACQ.TRADE_NOT_EXIST", "ORDER_NOT_EXIST"}


class _NotAssessable(Exception):
    """Zhima cannot assess the user (is_admittance N/A): no band, whatever the threshold."""


class AlipayProvider(AlipayOrders, CreditProvider):
    """Zhima credit + fund authorization behind the provider port."""

    name = "alipay"
    confirms_in_app = True
    bill_utc_offset_hours = 8  # a bill_date is a Beijing day (alipay_bill.py)

    def __init__(self, deps: Any, send: Any = None) -> None:
        self.deps = deps
        self.client = AlipayClient(deps.settings, deps.clock, send)

    def bill(self, day: date) -> list[BillLine]:
        """The trade bill of Beijing day `day` (alipay_bill.py)."""
        return alipay_bill.fetch(self, day)

    # -- plumbing ------------------------------------------------------------------------
    @property
    def settings(self) -> Any:
        return self.deps.settings

    def call(
        self, method: str, biz: dict | None = None, accept: tuple[str, ...] = (OK, BUSINESS_FAILURE), **top: str
    ) -> dict:
        return self.client.call(method, biz, accept, **top)

    @staticmethod
    def _failed(node: dict) -> OpResult:
        return OpResult("failed", reason=node.get("sub_code") or node.get("msg") or "refused")

    def _remember(self, out_request_no: str, kind: str, **facts: Any) -> dict:
        """Record the operation under our number; an aliased wire number points back to it."""
        wire = fmt.wire_no(out_request_no)
        op = ledger.remember(self.deps.table, self.name, out_request_no, kind, wire=wire, **facts)
        if wire != out_request_no:
            ledger.remember(self.deps.table, self.name, wire, "alias", ours=out_request_no)
        return op

    def ours(self, wire: str | None) -> str | None:
        """Our request number for one Alipay names in a notification."""
        op = ledger.recall(self.deps.table, self.name, wire)
        return op["ours"] if op and op.get("kind") == "alias" else wire

    def buyer(self, member_ref: str, *, op_app: bool = False) -> dict[str, str]:
        """The buyer of a trade: buyer_id (user_id apps) or buyer_open_id (open_id apps); op_app (trade.create
        only): op_app_id + op_buyer_open_id when the mini-program is not the calling app
        (alipay-sdk-net-all v2 Domain/AlipayTradeCreateModel.cs op_app_id, op_buyer_open_id)."""
        if not member_ref.startswith(OPEN_ID):
            return {"buyer_id": member_ref}  # AlipayTradePayModel.cs / AlipayTradeCreateModel.cs buyer_id
        open_id, op_app_id = member_ref[len(OPEN_ID) :], self.settings.alipay_op_app_id
        if op_app and op_app_id and op_app_id != self.settings.alipay_app_id:
            return {"op_app_id": op_app_id, "op_buyer_open_id": open_id}
        return {"buyer_open_id": open_id}  # AlipayTradePayModel.cs / AlipayTradeCreateModel.cs buyer_open_id

    def _seller(self) -> str:
        if not self.settings.alipay_seller_id:
            raise ProviderNotConfigured("alipay pre-auth captures need CREDITFIRST_ALIPAY_SELLER_ID")
        return self.settings.alipay_seller_id

    # -- login and credit ------------------------------------------------------------------
    def login(self, code: str) -> Identity:
        """alipay.system.oauth.token (AlipaySystemOauthTokenRequest grant_type + code as top-level params);
        the answer's user_id, else open_id (AlipaySystemOauthTokenResponse.cs) decides the app's mode."""
        node = self.call(
            "alipay.system.oauth.token",
            accept=(OK, BUSINESS_FAILURE, INVALID_ARGUMENTS),
            grant_type="authorization_code",
            code=code,
        )
        if node.get("code") != OK or not (node.get("user_id") or node.get("open_id")):
            raise ValidationFailed("alipay refused the login code", "code")
        if node.get("user_id"):
            return Identity(str(node["user_id"]))
        return Identity(OPEN_ID + str(node["open_id"]))

    def send_reminder(self, member_ref: str, reminder: Reminder) -> OpResult:
        """The member-day reminder: alipay.open.app.mini.templatemessage.send with a subscription template
        (alipay-sdk-java-all domain/AlipayOpenAppMiniTemplatemessageSendModel.java, 2022-09-16: to_user_id,
        user_template_id, page, data; form_id "订阅消息模板无需传入本参数", so none is sent). The model names the
        user by user_id only: an open_id app's member cannot be reached here."""
        template = self.settings.alipay_reminder_template
        if not template:
            return OpResult("failed", reason="not_configured")
        if member_ref.startswith(OPEN_ID):
            return OpResult("failed", reason="open_id_not_supported")
        data = {
            "keyword1": {"value": reminder.title[:50]},  # keyword_X in the template's order; value <= 50
            "keyword2": {"value": reminder.credit_date.isoformat()},
        }
        node = self.call(
            "alipay.open.app.mini.templatemessage.send",
            {
                "to_user_id": member_ref,  # the user's 2088... user_id, who subscribed
                "user_template_id": template,  # the template chosen in the merchant's self-service centre
                "page": reminder.page,  # opened from the message
                "data": json.dumps(data, ensure_ascii=False, separators=(",", ":")),  # a JSON string
            },
        )
        if node.get("code") == OK:
            return OpResult("succeeded")
        return self._failed(node)

    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer:
        """Zhima admission answers only 'at or above X?': ask at the fixed band edges, keep only the band."""
        try:
            return CreditAnswer("granted", find_band(lambda edge: self._admitted(member_ref, out_request_no, edge)))
        except _NotAssessable:
            return CreditAnswer("declined")

    def _admitted(self, member_ref: str, out_request_no: str, edge: int) -> bool:
        """zhima.credit.score.brief.get at one band edge, answered from cache while the snapshot lives: Alipay
        warns that changing admittance_score often can get the interface disabled (ZhimaCreditScoreBriefGetModel
        admittance_score comment), so each member sees only the fixed edges, each asked once per snapshot."""
        table, now = self.deps.table, self.deps.clock.now()
        pk, sk = f"PROV#alipay#zhima#{member_ref}", f"EDGE#{edge}"
        cached = table.get(pk, sk)
        if cached and parse_iso(cached["expires_at"]) > now:
            return cached["admitted"] == "Y"
        biz = {
            "transaction_id": f"{fmt.wire_no(out_request_no)[:58]}_{edge}",  # [A-Za-z0-9_]{1,64}
            "product_code": self.settings.alipay_zhima_product_code,  # fixed w1010100000000002733
            "cert_type": "ALIPAY_USER_ID",  # ZhimaCreditScoreBriefGetModel.cs cert_type enum
            "admittance_score": edge,  # 350..950 (ZhimaCreditScoreBriefGetModel.cs admittance_score)
        }
        if member_ref.startswith(OPEN_ID):
            biz["open_id"] = member_ref[len(OPEN_ID) :]  # ZhimaCreditScoreBriefGetModel.cs open_id
        else:
            biz["cert_no"] = member_ref  # ZhimaCreditScoreBriefGetModel.cs cert_no: the Alipay uid
        node = self.call("zhima.credit.score.brief.get", biz)
        if node.get("code") != OK:
            raise ProviderError(f"zhima admission failed: {node.get('sub_code')}")
        answer = node.get("is_admittance")  # Y | N | N/A (ZhimaCreditScoreBriefGetResponse.cs)
        if answer not in ("Y", "N"):
            raise _NotAssessable()
        days = self.settings.policy.authorization_days
        table.put({"pk": pk, "sk": sk, "admitted": answer, "expires_at": iso(now + timedelta(days=days))})
        return answer == "Y"

    # -- fund authorization (deposit-free) -------------------------------------------------
    def freeze(
        self, out_order_no: str, out_request_no: str, member_ref: str, amount: int, title: str, expires_at: datetime
    ) -> OpResult:
        """alipay.fund.auth.order.app.freeze as a signed order string the mini-program opens (my.tradePay);
        the result comes by notification (fund_auth_freeze) or detail query."""
        if not self.settings.alipay_service_id:
            raise ProviderNotConfigured("alipay credit pre-auth needs CREDITFIRST_ALIPAY_SERVICE_ID (serviceId)")
        op = self._remember(
            out_request_no, "freeze", out_order_no=fmt.wire_no(out_order_no), amount=amount, expires_at=iso(expires_at)
        )
        # AlipayFundAuthOrderAppFreezeModel.cs extra_param: category + serviceId required for credit pre-auth
        extra = {"category": self.settings.alipay_freeze_category, "serviceId": self.settings.alipay_service_id}
        biz = {
            "out_order_no": op["out_order_no"],  # [A-Za-z0-9_], unique per merchant
            "out_request_no": op["wire"],  # [A-Za-z0-9_]
            "order_title": fmt.text_limit(title, 100) or "rental",  # order_title
            "amount": fmt.positive_yuan(int(op["amount"])),  # [0.01, 100000000.00] yuan
            "product_code": "PREAUTH_PAY",  # "预授权支付产品固定为 PREAUTH_PAY"
            "timeout_express": "30m",  # 1m..15d, unpaid freeze order closes after it
            "extra_param": json.dumps(extra, separators=(",", ":")),
            "deposit_product_mode": "DEPOSIT_ONLY",  # 纯免押 (deposit_product_mode)
        }
        if self.settings.alipay_seller_id:
            biz["payee_user_id"] = self.settings.alipay_seller_id  # payee_user_id (needed for Huabei)
        ledger.remember(
            self.deps.table,
            self.name,
            f"{out_order_no}#app",
            "app_order",
            method="alipay.fund.auth.order.app.freeze",
            biz=json.dumps(biz, ensure_ascii=False),
        )
        order_str = self.client.order_string(
            "alipay.fund.auth.order.app.freeze", biz, notify_url=self.settings.alipay_notify_url
        )
        return OpResult("pending", provider_params={"order_str": order_str}, expires_at=expires_at)

    def fresh_params(self, kind: str, out_order_no: str) -> dict | None:
        """The same app-side order string (same numbers, same biz_content) signed again with a current
        timestamp, for a user who opens it late; None when we never handed one out."""
        op = ledger.recall(self.deps.table, self.name, f"{out_order_no}#app")
        if op is None:
            return None
        return {
            "order_str": self.client.order_string(
                op["method"], json.loads(op["biz"]), notify_url=self.settings.alipay_notify_url
            )
        }

    def cancel_freeze(self, out_order_no: str, out_request_no: str) -> OpResult:
        """A freeze we no longer want, its outcome unknown: ask (alipay.fund.auth.operation.detail.query); never
        created or closed = done; otherwise alipay.fund.auth.operation.cancel (AlipayFundAuthOperationCancelModel:
        out_order_no + out_request_no as at the freeze) so no orphan freeze stays on the user's account."""
        order_no, request_no = fmt.wire_no(out_order_no), fmt.wire_no(out_request_no)
        state = self.call(
            "alipay.fund.auth.operation.detail.query",
            {"out_order_no": order_no, "out_request_no": request_no, "operation_type": "FREEZE"},
        )
        if state["code"] != OK:
            if state.get("sub_code") in FREEZE_NOT_FOUND:
                return OpResult("succeeded", reason="never created")
            raise ProviderError(f"alipay freeze state unknown: {state.get('sub_code')}")
        if state.get("status") == "CLOSED" or state.get("order_status") in ("CLOSED", "FINISH"):
            return OpResult("succeeded", state.get("auth_no"), reason="already closed")
        node = self.call(
            "alipay.fund.auth.operation.cancel",
            # remark: at most 100 letters / 50 Chinese characters
            {"out_order_no": order_no, "out_request_no": request_no, "remark": "rental cancelled"},
        )
        if node["code"] == OK:
            return OpResult("succeeded", node.get("auth_no"), reason=node.get("action"))  # close | unfreeze
        return self._failed(node)

    def capture_from_freeze(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, reason: str
    ) -> OpResult:
        """Rent and deductions: alipay.trade.pay against the freeze (AlipayTradePayModel.cs).

        auth_confirm_mode NOT_COMPLETE: a capture never unfreezes anything by itself; the remainder is released
        once, by our own unfreeze (which carries the fulfilment). seller_id and buyer_id (or buyer_open_id) are
        required for pre-authorization ("支付宝预授权和新当面资金授权场景下必填")."""
        op = self._remember(out_request_no, "capture", auth_no=freeze_ref, amount=amount)
        node = self.call(
            "alipay.trade.pay",
            {
                "out_trade_no": op["wire"],  # [A-Za-z0-9_], <= 64
                "total_amount": fmt.positive_yuan(amount),  # [0.01, 100000000]
                "subject": fmt.plain_subject(reason or "rent"),  # <= 256, no / = &
                "body": fmt.text_limit(reason, 128) or None,  # body: shown in the user's bill details
                "product_code": "PREAUTH_PAY",  # the pre-auth product code the freeze was made under
                "auth_no": freeze_ref,  # auth_no: required for pre-auth
                "auth_confirm_mode": "NOT_COMPLETE",  # COMPLETE | NOT_COMPLETE
                "seller_id": self._seller(),
                **self.buyer(member_ref),
            },
            accept=(OK, BUSINESS_FAILURE, IN_PROCESS),
            notify_url=self.settings.alipay_notify_url,
        )
        if node.get("sub_code") == "ACQ.TRADE_HAS_SUCCESS":  # a retry of a capture that went through
            return self.query(out_request_no) or OpResult("pending")
        return self.trade_result(node)

    def release(
        self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *, fulfilled: bool = False
    ) -> OpResult:
        """alipay.fund.auth.order.unfreeze (AlipayFundAuthOrderUnfreezeModel.cs). fulfilled: the one release that
        ends an on-time rental carries extra_param unfreezeBizInfo bizComplete "true" (a map<string, string>
        JSON: the inner object is itself a JSON string); Zhima then records the promise as kept. A repeat sends
        the same number and amount, which Alipay treats as the same request. settle_freeze (the port's default)
        captures every line first: a line captured live answers ACQ.TRADE_HAS_SUCCESS, settled by query."""
        op = self._remember(
            out_request_no, "release", auth_no=freeze_ref, amount=amount, fulfilled="Y" if fulfilled else "N"
        )
        if amount <= 0:
            return OpResult("succeeded", reason="nothing left to release")
        biz = {
            "auth_no": freeze_ref,
            "out_request_no": op["wire"],
            "amount": fmt.positive_yuan(int(op["amount"])),
            "remark": "rental closed",
        }
        if op.get("fulfilled") == "Y":
            info = json.dumps({"bizComplete": "true"}, separators=(",", ":"))
            biz["extra_param"] = json.dumps({"unfreezeBizInfo": info}, separators=(",", ":"))
        node = self.call("alipay.fund.auth.order.unfreeze", biz, notify_url=self.settings.alipay_notify_url)
        if node["code"] != OK:
            return self._failed(node)
        return OpResult(FREEZE_STATUS.get(node.get("status", ""), "pending"), node.get("operation_id"))

    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult:
        # Zhima learns a rental's outcome from the fund authorization itself (bizComplete on the unfreeze);
        # there is no separate call to make.
        return OpResult("succeeded", out_request_no)

    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult:
        """A cash deposit: alipay.trade.create gives the trade_no the mini-program pays; result by notification."""
        op = self._remember(numbers.number(out_order_no, "deposit"), "deposit", amount=amount)
        node = self.call(
            "alipay.trade.create",
            {
                "out_trade_no": op["wire"],
                "total_amount": fmt.positive_yuan(amount),  # AlipayTradeCreateModel.cs
                "subject": fmt.plain_subject(title),
                "product_code": "JSAPI_PAY",  # mini-program payment
                **self.buyer(member_ref, op_app=True),
            },
            notify_url=self.settings.alipay_notify_url,
        )
        if node["code"] != OK:
            return self._failed(node)
        return OpResult("pending", node.get("trade_no"), provider_params={"trade_no": node.get("trade_no")})

    # -- reconciliation ------------------------------------------------------------------------
    def query(self, out_request_no: str) -> OpResult | None:
        op = ledger.recall(self.deps.table, self.name, out_request_no)
        if op is None or op["kind"] == "alias":
            return None
        wire = op.get("wire") or out_request_no
        if op["kind"] in ("freeze", "release"):
            biz = {"out_request_no": wire, "operation_type": "FREEZE" if op["kind"] == "freeze" else "UNFREEZE"}
            biz.update({"out_order_no": op["out_order_no"]} if op.get("out_order_no") else {"auth_no": op["auth_no"]})
            node = self.call("alipay.fund.auth.operation.detail.query", biz)
            if node["code"] != OK:
                return self._unknown(node)
            expires = op.get("expires_at")
            return OpResult(
                FREEZE_STATUS.get(node.get("status", ""), "pending"),
                node.get("auth_no"),
                expires_at=parse_iso(expires) if expires else None,
            )
        if op["kind"] == "paylater":
            return self.credit_order_state(op)
        if op["kind"] == "refund":
            return self.refund_state(op)
        node = self.call("alipay.trade.query", {"out_trade_no": wire})  # AlipayTradeQueryModel.cs out_trade_no
        if node["code"] != OK:
            return self._unknown(node)
        return self.trade_result(node)

    def trade_result(self, node: dict) -> OpResult:
        if node["code"] == IN_PROCESS:
            return OpResult("pending", node.get("trade_no"))
        if node["code"] != OK:
            return self._failed(node)
        status = TRADE_STATUS.get(node.get("trade_status", "TRADE_SUCCESS"), "pending")
        return OpResult(status, node.get("trade_no"))

    @staticmethod
    def _unknown(node: dict) -> OpResult | None:
        """A query that could not answer: never seen (None), or unknown for now (pending, ask again later).
        A failed query is not a failed operation, so it never settles anything as failed."""
        return None if node.get("sub_code") in NOT_FOUND_CODES else OpResult("pending", reason=node.get("sub_code"))

    # -- notifications ---------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        return alipay_notify.verify(self, raw_body)

    def ack(self) -> Any:
        return alipay_notify.ACK

    def nack(self) -> Ack:
        # Anything but the 7 characters `success` and Alipay resends (8 times within about 25 h), keeping the
        # notify_id: https://opendocs.alipay.com/open/270/105902 (异步通知, 服务器异步通知页面特性).
        return Ack(200, "fail", "text/plain")
