"""WeChat Pay Score (微信支付分): credit consent and service orders whose risk fund stands in for a deposit.

Every v3 call carries the merchant's `WECHATPAY2-SHA256-RSA2048` signature; every answer and notification
is verified with the platform key named by `Wechatpay-Serial` (certificates or the newer public key id).
Amounts are integer fen on the wire already.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..clock import iso, parse_iso
from ..domain import request_numbers as numbers
from ..domain.errors import InvalidSignature, ProviderError, ProviderNotConfigured, ValidationFailed
from . import keys, ledger, transport, wechat_events
from . import wechat_format as fmt
from .base import Ack, CreditAnswer, CreditProvider, Identity, Notification, OpResult
from .wechat_events import transaction_id

ORDER_NO = re.compile(r"^[A-Za-z0-9_\-|*@]{6,32}$")
ORDER_STATE = {"CREATED": "pending", "DOING": "succeeded", "DONE": "succeeded", "REVOKED": "failed",
               "EXPIRED": "failed"}
TRADE_STATE = {"SUCCESS": "succeeded", "CLOSED": "failed", "PAYERROR": "failed", "REVOKED": "failed",
               "NOTPAY": "pending", "USERPAYING": "pending"}
BAD_CODE = {40029, 40163, 40226}  # invalid, already used, or risky login code: the caller's input
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def order_no(out_request_no: str) -> str:
    """Pay Score's out_order_no allows 6-32 of [A-Za-z0-9_-|*@]; longer numbers are hashed (and aliased)."""
    if ORDER_NO.match(out_request_no):
        return out_request_no
    return "cf" + hashlib.sha256(out_request_no.encode()).hexdigest()[:30]


class WechatProvider(CreditProvider):
    """WeChat Pay Score behind the provider port."""

    name = "wechat"
    confirms_in_app = True
    offers_installments = False  # no Huabei on WeChat Pay: installment orders are refused at creation

    def __init__(self, deps: Any, send: Any = None) -> None:
        self.deps = deps
        self._send = send or transport.send
        self._private: Any = None
        self._platform: dict[str, Any] | None = None

    # -- keys ------------------------------------------------------------------------------
    @property
    def settings(self) -> Any:
        return self.deps.settings

    def platform_keys(self) -> dict[str, Any]:
        """Serial -> key: every configured platform certificate and the PUB_KEY_ID_ key (both during a switch)."""
        if self._platform is None:
            found: dict[str, Any] = {}
            for pem in PEM_CERT.findall(self.settings.wechat_platform_certs.replace("\\n", "\n")):
                found[keys.certificate_serial(pem)] = keys.load_public_key(pem)
            if self.settings.wechat_public_key and self.settings.wechat_public_key_id:
                found[self.settings.wechat_public_key_id.strip().upper()] = \
                    keys.load_public_key(self.settings.wechat_public_key)
            if not found:
                raise ProviderNotConfigured("wechat pay is not configured (platform certificates or public key)")
            self._platform = found
        return self._platform

    def _merchant_key(self) -> Any:
        if self._private is None:
            if not self.settings.wechat_private_key:
                raise ProviderNotConfigured("wechat pay is not configured (CREDITFIRST_WECHAT_PRIVATE_KEY)")
            self._private = keys.load_private_key(self.settings.wechat_private_key)
        return self._private

    # -- v3 calls ----------------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One signed v3 call; the answer is verified before it is read. 5xx/unsigned -> ProviderError."""
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        ts, nonce = str(int(self.deps.clock.now().timestamp())), secrets.token_hex(16)
        auth = fmt.authorization(self.settings.wechat_mch_id, self.settings.wechat_cert_serial,
                                 self._merchant_key(), method, path, ts, nonce, text)
        headers = {"Authorization": auth, "Accept": "application/json", "User-Agent": "creditfirst/1"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        resp = self._send(method, self.settings.wechat_gateway.rstrip("/") + path,
                          text.encode("utf-8") if body is not None else None, headers)
        if resp.status >= 500 or resp.status == 401:  # 401: our signature/config, never the user's fault
            raise ProviderError(f"wechat pay {method} {path.split('?')[0]} answered HTTP {resp.status}")
        # A success must be signed; an error is checked when it carries a signature (WeChat's own SDKs read
        # unsigned errors as plain errors). Either way an error only ever refuses: it never moves money.
        if resp.status < 300 or "wechatpay-signature" in resp.headers:
            try:
                fmt.verify_signed(resp.headers, resp.body, self.platform_keys(), self.deps.clock.now())
            except InvalidSignature as exc:
                raise ProviderError(f"wechat pay answer not trusted: {exc.message}") from exc
        try:
            return resp.status, json.loads(resp.body) if resp.body.strip() else {}
        except ValueError as exc:
            raise ProviderError(f"wechat pay {method}: unreadable answer") from exc

    def _common(self) -> dict[str, str]:
        return {"appid": self.settings.wechat_appid, "service_id": self.settings.wechat_service_id}

    @staticmethod
    def _failed(status: int, answer: dict) -> OpResult:
        return OpResult("failed", reason=answer.get("code") or f"http_{status}")

    # -- login and credit consent ---------------------------------------------------------------
    def login(self, code: str) -> Identity:
        """Mini-program login (jscode2session) gives the openid; the session key is never kept."""
        if not (self.settings.wechat_appid and self.settings.wechat_app_secret):  # never call WeChat without them
            raise ProviderNotConfigured("wechat login is not configured (CREDITFIRST_WECHAT_APPID, _APP_SECRET)")
        query = urlencode({"appid": self.settings.wechat_appid, "secret": self.settings.wechat_app_secret,
                           "js_code": code, "grant_type": "authorization_code"})
        resp = self._send("GET", f"{self.settings.wechat_login_gateway.rstrip('/')}/sns/jscode2session?{query}",
                          None, {"Accept": "application/json"})
        answer = json.loads(resp.body or b"{}") if resp.status == 200 else {}
        if answer.get("errcode") in BAD_CODE:
            raise ValidationFailed("wechat refused the login code", "code")
        if not answer.get("openid"):
            raise ProviderError(f"wechat login failed ({answer.get('errcode', resp.status)})")
        return Identity(answer["openid"])

    def authorize_credit(self, member_ref: str, out_request_no: str) -> CreditAnswer:
        """Pay Score consent: the mini-program opens the permissions token; the answer comes by notification."""
        code = order_no(out_request_no)
        ledger.remember(self.deps.table, self.name, code, "consent", member_ref=member_ref, of=out_request_no)
        status, answer = self.call("POST", "/v3/payscore/permissions", {
            "service_id": self.settings.wechat_service_id, "appid": self.settings.wechat_appid,
            "authorization_code": code, "notify_url": self.settings.wechat_notify_url})
        if status >= 300:
            return CreditAnswer("declined")
        token = answer.get("apply_permissions_token")
        return CreditAnswer("pending", provider_params={"businessType": "wxpayScoreEnable",
                                                        "apply_permissions_token": token})

    # -- service orders (risk fund instead of a deposit) -----------------------------------------
    def freeze(self, out_order_no: str, out_request_no: str, member_ref: str, amount: int,
               title: str, expires_at: datetime) -> OpResult:
        number = order_no(out_request_no)
        ledger.remember(self.deps.table, self.name, out_request_no, "freeze", order_no=number, amount=amount,
                        expires_at=iso(expires_at))
        if number != out_request_no:
            ledger.remember(self.deps.table, self.name, number, "alias", of=out_request_no)
        status, answer = self.call("POST", "/v3/payscore/serviceorder", {
            "out_order_no": number, **self._common(), "service_introduction": title[:20],
            "time_range": {"start_time": "OnAccept"}, "notify_url": self.settings.wechat_notify_url,
            "risk_fund": {"name": "DEPOSIT", "amount": amount, "description": title[:30]},
            "openid": member_ref, "need_user_confirm": True})
        if status >= 300:
            return self._failed(status, answer)
        return OpResult("pending", number, expires_at=expires_at, provider_params={
            "businessType": "wxpayScoreUse", "mch_id": self.settings.wechat_mch_id,
            "package": answer.get("package"), "service_id": self.settings.wechat_service_id})

    def capture_from_freeze(self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int,
                            reason: str) -> OpResult:
        """Rent and deductions: the first completes the order (the rest of the risk fund ends with it),
        later ones raise its total with modify. Pay Score then collects from the user itself."""
        op = ledger.remember(self.deps.table, self.name, out_request_no, "capture", order_no=freeze_ref,
                             amount=amount)
        if op.get("status"):
            return OpResult(op["status"], freeze_ref, op.get("reason"))
        order = ledger.recall(self.deps.table, self.name, f"order-{freeze_ref}") or {}
        taken = int(order.get("taken", 0)) + amount
        payments = [*order.get("payments", []), {"name": (reason or "rent")[:20], "amount": amount,
                                                 "description": (reason or "rent")[:30]}]
        action = "modify" if order.get("completed") else "complete"
        body: dict[str, Any] = {**self._common(), "post_payments": payments, "total_amount": taken}
        body.update({"reason": "deduction"} if action == "modify" else {})
        status, answer = self.call("POST", f"/v3/payscore/serviceorder/{freeze_ref}/{action}", body)
        result = OpResult("succeeded", freeze_ref) if status < 300 else self._failed(status, answer)
        if result.ok:
            ledger.remember(self.deps.table, self.name, f"order-{freeze_ref}", "order")
            ledger.note(self.deps.table, self.name, f"order-{freeze_ref}", completed=True, taken=taken,
                        payments=payments, last_capture=out_request_no)
        ledger.note(self.deps.table, self.name, out_request_no, status=result.status, reason=result.reason)
        return result

    def release(self, out_request_no: str, freeze_ref: str, member_ref: str, amount: int, *,
                fulfilled: bool = False) -> OpResult:
        """Once completed, nothing is left frozen (complete ends the risk fund); otherwise cancel the order."""
        op = ledger.remember(self.deps.table, self.name, out_request_no, "release", order_no=freeze_ref,
                             amount=amount)
        if op.get("status"):
            return OpResult(op["status"], freeze_ref, op.get("reason"))
        order = ledger.recall(self.deps.table, self.name, f"order-{freeze_ref}") or {}
        if order.get("completed"):
            result = OpResult("succeeded", freeze_ref)
        else:
            status, answer = self.call("POST", f"/v3/payscore/serviceorder/{freeze_ref}/cancel",
                                       {**self._common(), "reason": "returned"})
            result = OpResult("succeeded", freeze_ref) if status < 300 else self._failed(status, answer)
        ledger.note(self.deps.table, self.name, out_request_no, status=result.status, reason=result.reason)
        return result

    def collect_deposit(self, out_order_no: str, member_ref: str, amount: int, title: str) -> OpResult:
        """A cash deposit by JSAPI payment: the mini-program gets signed wx.requestPayment parameters."""
        number = order_no(numbers.number(out_order_no, "deposit"))
        ledger.remember(self.deps.table, self.name, number, "deposit", amount=amount, of=numbers.number(out_order_no, "deposit"))
        status, answer = self.call("POST", "/v3/pay/transactions/jsapi", {
            "appid": self.settings.wechat_appid, "mchid": self.settings.wechat_mch_id, "description": title[:127],
            "out_trade_no": number, "notify_url": self.settings.wechat_notify_url,
            "amount": {"total": amount, "currency": "CNY"}, "payer": {"openid": member_ref}})
        if status >= 300:
            return self._failed(status, answer)
        ts, nonce = str(int(self.deps.clock.now().timestamp())), secrets.token_hex(16)
        package = f"prepay_id={answer.get('prepay_id')}"
        message = f"{self.settings.wechat_appid}\n{ts}\n{nonce}\n{package}\n".encode()
        return OpResult("pending", number, provider_params={
            "appId": self.settings.wechat_appid, "timeStamp": ts, "nonceStr": nonce, "package": package,
            "signType": "RSA", "paySign": keys.sign(self._merchant_key(), message)})

    # -- pay later: a Pay Score service order the user confirms, completed at the charge ------------------
    def open_pay_later(self, out_order_no: str, member_ref: str, amount: int, title: str,
                       charge_at: datetime) -> OpResult:
        """Create the service order (risk fund = the amount owed); the user confirms it in the mini-program
        (PAYSCORE.USER_CONFIRM). The service order number is the agreement the charge completes."""
        number = order_no(out_order_no)
        op = ledger.remember(self.deps.table, self.name, out_order_no, "paylater", order_no=number, amount=amount)
        if number != out_order_no:
            ledger.remember(self.deps.table, self.name, number, "alias", of=out_order_no)
        status, answer = self.call("POST", "/v3/payscore/serviceorder", {
            "out_order_no": number, **self._common(), "service_introduction": title[:20],
            "time_range": {"start_time": "OnAccept"}, "notify_url": self.settings.wechat_notify_url,
            "risk_fund": {"name": "ESTIMATE_ORDER_COST", "amount": int(op["amount"]), "description": title[:30]},
            "post_payments": [{"name": title[:20], "amount": int(op["amount"]), "description": title[:30]}],
            "openid": member_ref, "need_user_confirm": True})
        if status >= 300:
            return self._failed(status, answer)
        return OpResult("pending", number, provider_params={
            "businessType": "wxpayScoreUse", "mch_id": self.settings.wechat_mch_id,
            "package": answer.get("package"), "service_id": self.settings.wechat_service_id})

    def close_pay_later(self, out_order_no: str, agreement_ref: str | None, reason: str) -> OpResult:
        """Cancel the service order (CREATED or confirmed, never completed). A refusal is checked with a query:
        REVOKED/EXPIRED already, or never created (404), is done."""
        number = order_no(out_order_no)  # the service order we created (agreement_ref names the same)
        status, answer = self.call("POST", f"/v3/payscore/serviceorder/{number}/cancel",
                                   {**self._common(), "reason": reason[:50]})
        if status < 300:
            return OpResult("succeeded", number)
        query = urlencode({"out_order_no": number, **self._common()})
        state, order = self.call("GET", f"/v3/payscore/serviceorder?{query}")
        if state == 404 or (state < 300 and order.get("state") in ("REVOKED", "EXPIRED")):
            return OpResult("succeeded", number)
        return self._failed(status, answer)

    def open_installments(self, out_request_no: str, member_ref: str, amount: int, periods: int,
                          title: str) -> OpResult:
        raise ValidationFailed("WeChat Pay offers no interest-free installments; use kind pay_later", "kind",
                               code="installments_not_offered")

    def charge(self, out_request_no: str, member_ref: str, amount: int, description: str, *,
               agreement_ref: str | None = None) -> OpResult:
        """Complete the confirmed service order with the amount owed; Pay Score then collects it from the
        user (PAYSCORE.USER_PAID, or the order's collection on query). Completed once: a repeat asks."""
        if not agreement_ref:
            raise ProviderError("wechat pay-later charges need a confirmed Pay Score order")
        op = ledger.remember(self.deps.table, self.name, out_request_no, "charge", order_no=agreement_ref,
                             amount=amount)
        number = op["order_no"]
        if op.get("sent"):
            return self._collection(number)
        name = (description or "pay later")[:20]
        status, answer = self.call("POST", f"/v3/payscore/serviceorder/{number}/complete", {
            **self._common(), "post_payments": [{"name": name, "amount": int(op["amount"]), "description": name}],
            "total_amount": int(op["amount"])})
        if status >= 300:
            if answer.get("code") == "ORDER_STATE_ERROR":  # completed before (a lost answer): ask
                return self._collection(number)
            return self._failed(status, answer)
        ledger.remember(self.deps.table, self.name, f"order-{number}", "order")
        ledger.note(self.deps.table, self.name, f"order-{number}", completed=True, taken=int(op["amount"]),
                    last_capture=out_request_no)
        ledger.note(self.deps.table, self.name, out_request_no, sent=True)
        return OpResult("pending", number)

    def _collection(self, number: str) -> OpResult:
        """What Pay Score collected on a completed order: USER_PAID settles it, with the transaction id."""
        query = urlencode({"out_order_no": number, **self._common()})
        status, answer = self.call("GET", f"/v3/payscore/serviceorder?{query}")
        if status >= 300:
            return OpResult("pending", number, answer.get("code"))
        collection = answer.get("collection") or {}
        if answer.get("state") in ("REVOKED", "EXPIRED"):
            return OpResult("failed", number, answer.get("state"))
        if collection.get("state") == "USER_PAID":
            return OpResult("succeeded", transaction_id(collection) or number)
        return OpResult("pending", number)

    def refund(self, out_request_no: str, charge_ref: str, member_ref: str, amount: int, *,
               charged_total: int | None = None) -> OpResult:
        """Domestic refund of the collected transaction; out_refund_no is our number, so a repeat is the same
        refund at WeChat. WeChat needs the transaction's whole total alongside the amount given back."""
        if not charged_total:
            raise ProviderError("wechat refunds need the original transaction total")
        ledger.remember(self.deps.table, self.name, out_request_no, "refund", transaction_id=charge_ref,
                        amount=amount)
        status, answer = self.call("POST", "/v3/refund/domestic/refunds", {
            "transaction_id": charge_ref, "out_refund_no": out_request_no, "notify_url": self.settings.wechat_notify_url,
            "amount": {"refund": amount, "total": charged_total, "currency": "CNY"}})
        if status >= 300:
            return self._failed(status, answer)
        state = {"SUCCESS": "succeeded", "PROCESSING": "pending"}.get(answer.get("status", ""), "failed")
        return OpResult(state, answer.get("refund_id"), None if state != "failed" else answer.get("status"))

    def record_fulfilment(self, out_request_no: str, member_ref: str, positive: bool) -> OpResult:
        # Pay Score records fulfilment from the service order itself (completed and paid, or not).
        return OpResult("succeeded", out_request_no)

    # -- reconciliation ------------------------------------------------------------------------
    def query(self, out_request_no: str) -> OpResult | None:
        op = ledger.recall(self.deps.table, self.name, out_request_no) \
            or ledger.recall(self.deps.table, self.name, order_no(out_request_no))
        if op is None:
            return None
        if op["kind"] == "freeze":
            query = urlencode({"out_order_no": op["order_no"], **self._common()})
            status, answer = self.call("GET", f"/v3/payscore/serviceorder?{query}")
            if status == 404:
                return None
            if status >= 300:  # a query that cannot answer says nothing about the order: ask again later
                return OpResult("pending", op["order_no"], answer.get("code"))
            expires = op.get("expires_at")
            return OpResult(ORDER_STATE.get(answer.get("state", ""), "pending"), op["order_no"],
                            expires_at=parse_iso(expires) if expires else None)
        if op["kind"] == "deposit":
            status, answer = self.call(
                "GET", f"/v3/pay/transactions/out-trade-no/{op['out_request_no']}?mchid={self.settings.wechat_mch_id}")
            if status == 404:
                return None
            if status >= 300:
                return OpResult("pending", reason=answer.get("code"))
            return OpResult(TRADE_STATE.get(answer.get("trade_state", ""), "pending"), answer.get("transaction_id"))
        if op["kind"] == "consent":
            return self._consent_state(op)
        if op["kind"] == "paylater":
            query = urlencode({"out_order_no": op["order_no"], **self._common()})
            status, answer = self.call("GET", f"/v3/payscore/serviceorder?{query}")
            if status == 404:
                return None
            if status >= 300:
                return OpResult("pending", op["order_no"], answer.get("code"))
            return OpResult(ORDER_STATE.get(answer.get("state", ""), "pending"), op["order_no"])
        if op["kind"] == "charge" and op.get("sent"):
            return self._collection(op["order_no"])
        return OpResult(op["status"], op.get("order_no"), op.get("reason")) if op.get("status") else None

    def _consent_state(self, op: dict) -> OpResult | None:
        """A consent whose notification was lost: AVAILABLE means the user opened the service."""
        code = op["out_request_no"]
        status, answer = self.call(
            "GET", f"/v3/payscore/permissions/authorization-code/{code}?service_id={self.settings.wechat_service_id}")
        if status == 404:
            return None
        state = answer.get("authorization_state")
        return OpResult({"AVAILABLE": "succeeded", "UNAVAILABLE": "failed"}.get(state or "", "pending"),
                        answer.get("openid"))

    # -- notifications ----------------------------------------------------------------------------
    def verify_notification(self, headers: dict[str, str], raw_body: bytes) -> Notification:
        fmt.verify_signed(headers, raw_body, self.platform_keys(), self.deps.clock.now())
        try:
            event = json.loads(raw_body)
        except ValueError as exc:
            raise InvalidSignature("wechat pay notification is not JSON") from exc
        if not isinstance(event, dict) or not event.get("id") or not isinstance(event.get("resource"), dict):
            raise InvalidSignature("wechat pay notification lacks id or resource")
        resource = fmt.decrypt_resource(event["resource"], self.settings.wechat_apiv3_key)
        return self.to_notification(event, resource)

    def to_notification(self, event: dict, resource: dict) -> Notification:
        """Pay Score events -> neutral kinds; the event id is what a retried notification repeats."""
        return wechat_events.to_notification(self, event, resource)

    def ack(self) -> Ack:
        return Ack(204, "", "application/json")

    def nack(self) -> Ack:
        # Not received: HTTP 4XX/5XX with {"code": "FAIL", "message": ...}; WeChat Pay resends on its schedule:
        # https://pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/confirm-notification.html (回调验签与应答).
        return Ack(500, json.dumps({"code": "FAIL", "message": "not applied; send it again"}), "application/json")
