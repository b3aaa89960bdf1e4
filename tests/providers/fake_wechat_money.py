"""The strict fake's permission (consent), domestic refund and JSAPI endpoints (rules in fake_wechat_rules.py)."""
from __future__ import annotations

from tests.providers import fake_wechat_rules as r
from tests.providers.fake_wechat_orders import rfc3339
from tests.providers.fake_wechat_rules import Refusal, param_error


class MoneyEndpoints:
    """Mixin of FakeWechat: consent, refunds (REFUND.* notifications), cash deposits."""

    consents: dict[str, dict]
    refunds: dict[str, dict]
    transactions: dict[str, dict]
    trades: dict[str, dict]

    # -- Pay Score permissions (PY payscore_permission / payscore_permission_query) ------------------
    def create_permission(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.PERMISSION_FIELDS)
        for name in ("service_id", "appid", "authorization_code"):
            if not body.get(name):
                raise param_error("PERMISSION", f"{name} is required")
        self._same_app(body, None, "PERMISSION")
        code = body["authorization_code"]
        if not isinstance(code, str) or not r.AUTH_CODE.match(code):
            raise param_error("PERMISSION", "authorization_code: 1-32 of [0-9A-Za-z_*-]")
        consent = self.consents.setdefault(code, {"state": "UNAVAILABLE", "service_id": body["service_id"],
                                                  "openid": None, "tokens": []})
        token = f"TOKEN{len(self.tokens):06d}{code}"
        consent["tokens"].append(token)
        self.tokens[token] = code
        return 200, {"apply_permissions_token": token, "authorization_code": code}

    def query_permission(self, code: str, query: dict) -> tuple[int, dict]:
        r.only_fields(query, {"service_id"})
        if query.get("service_id") not in self.services:
            raise param_error("PERMISSION", "service_id is required")
        consent = self.consents.get(code)
        if consent is None:
            raise Refusal(404, "NOT_FOUND", "no such authorization")
        if consent["service_id"] != query["service_id"]:
            raise param_error("SERVICE", "service_id differs from the permission's")
        return 200, {"service_id": consent["service_id"], "appid": self.appid, "mchid": self.mch_id,
                     "authorization_code": code, "authorization_state": consent["state"],
                     **({"openid": consent["openid"]} if consent["openid"] else {})}

    # -- domestic refunds (GO services/refunddomestic) -----------------------------------------------
    def create_refund(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.REFUND_FIELDS)
        number = body.get("out_refund_no")
        if not isinstance(number, str) or not r.REFUND_NO.match(number):
            raise param_error("REFUND", "out_refund_no: 1-64 of [0-9A-Za-z_-|*@]")
        if ("transaction_id" in body) == ("out_trade_no" in body):
            raise param_error("REFUND", "exactly one of transaction_id and out_trade_no")
        r.text(body, "reason", 80, "REFUND", required=False)
        r.text(body, "notify_url", 256, "REFUND", required=False)
        money = body.get("amount")
        if not isinstance(money, dict) or set(money) - {"refund", "total", "currency", "from"}:
            raise param_error("REFUND", "amount: refund, total, currency")
        refund = r.amount(money.get("refund"), "amount.refund", "REFUND", positive=True)
        total = r.amount(money.get("total"), "amount.total", "REFUND", positive=True)
        if money.get("currency") != "CNY":
            raise param_error("REFUND", "amount.currency must be CNY")
        tx_id = body.get("transaction_id") or next(
            (k for k, t in self.transactions.items() if t.get("out_trade_no") == body["out_trade_no"]), None)
        tx = self.transactions.get(tx_id or "")
        if tx is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "订单号不存在", "REFUND")
        if total != tx["total"]:
            raise param_error("REFUND", "amount.total must equal the transaction's total")
        first = self.refunds.get(number)
        if first is not None:  # 同一退款单号多次请求只退一笔
            if first["body"] != body:
                raise Refusal(400, "INVALID_REQUEST", "same out_refund_no with other parameters", "REENTRY")
            return 200, self.refund_view(first)
        if tx["refunded"] + refund > total:
            raise Refusal(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额", "REFUND")
        tx["refunded"] += refund
        item = self.refunds[number] = {"body": body, "out_refund_no": number, "transaction_id": tx_id,
                                       "refund_id": f"5030{len(self.refunds):024d}", "status": "PROCESSING",
                                       "refund": refund, "total": total, "created_at": self.now()}
        if self.refunds_settle_at_once:
            self.finish_refund(number, "SUCCESS")
        return 200, self.refund_view(item)

    def query_refund(self, number: str, query: dict) -> tuple[int, dict]:
        r.only_fields(query, set())  # sub_mchid is for service providers only
        item = self.refunds.get(number)
        if item is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "退款单查询失败")
        return 200, self.refund_view(item)

    def refund_view(self, item: dict) -> dict:
        tx = self.transactions[item["transaction_id"]]
        return {"refund_id": item["refund_id"], "out_refund_no": item["out_refund_no"],
                "transaction_id": item["transaction_id"], "out_trade_no": tx.get("out_trade_no", ""),
                "channel": "ORIGINAL", "user_received_account": "支付用户零钱", "status": item["status"],
                "create_time": rfc3339(item["created_at"]),
                **({"success_time": rfc3339(item["done_at"])} if item["status"] == "SUCCESS" else {}),
                "amount": {"total": item["total"], "refund": item["refund"], "payer_total": item["total"],
                           "payer_refund": item["refund"], "settlement_refund": item["refund"],
                           "settlement_total": item["total"], "discount_refund": 0, "currency": "CNY"}}

    def finish_refund(self, number: str, status: str = "SUCCESS") -> tuple[dict, bytes]:
        """The refund ends (DOC refunds/refund-result-notice.html): REFUND.SUCCESS / ABNORMAL / CLOSED."""
        assert status in ("SUCCESS", "ABNORMAL", "CLOSED")
        item = self.refunds[number]
        item.update(status=status, done_at=self.now())
        if status == "CLOSED":
            self.transactions[item["transaction_id"]]["refunded"] -= item["refund"]
        view = self.refund_view(item)
        resource = {"mchid": self.mch_id, "out_trade_no": view["out_trade_no"], "transaction_id": view["transaction_id"],
                    "out_refund_no": number, "refund_id": view["refund_id"], "refund_status": status,
                    "user_received_account": view["user_received_account"],
                    "amount": {k: view["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")},
                    **({"success_time": view["success_time"]} if "success_time" in view else {})}
        return self.notify(f"REFUND.{status}", resource, "refund", summary="退款状态变更")

    # -- JSAPI (cash deposits, GO services/payments/jsapi) -------------------------------------------
    def create_jsapi(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.JSAPI_FIELDS)
        if body.get("appid") != self.appid or body.get("mchid") != self.mch_id:
            raise param_error("JSAPI", "appid and mchid must be this merchant's")
        r.text(body, "description", 127, "JSAPI")
        r.text(body, "notify_url", 256, "JSAPI")
        number = body.get("out_trade_no")
        if not isinstance(number, str) or not r.ORDER_NO.match(number):
            raise param_error("JSAPI", "out_trade_no: 6-32 characters")
        total = r.amount((body.get("amount") or {}).get("total"), "amount.total", "JSAPI", positive=True)
        if not (body.get("payer") or {}).get("openid"):
            raise param_error("JSAPI", "payer.openid is required")
        self.trades.setdefault(number, {"total": total, "state": "NOTPAY", "body": body})
        return 200, {"prepay_id": f"wx{len(self.trades):08d}{number}"[:64]}

    def query_trade(self, number: str, query: dict) -> tuple[int, dict]:
        r.only_fields(query, {"mchid"})
        if query.get("mchid") != self.mch_id:
            raise param_error("JSAPI", "mchid is required")
        trade = self.trades.get(number)
        if trade is None:
            raise Refusal(404, "ORDER_NOT_EXIST", "订单不存在")
        return 200, {"appid": self.appid, "mchid": self.mch_id, "out_trade_no": number,
                     "trade_state": trade["state"], "amount": {"total": trade["total"], "currency": "CNY"},
                     **({"transaction_id": trade["transaction_id"]} if trade.get("transaction_id") else {})}

    def pay_trade(self, number: str) -> tuple[dict, bytes]:
        """The user pays the JSAPI trade: TRANSACTION.SUCCESS."""
        trade = self.trades[number]
        tx = f"4200{len(self.transactions) + 1:024d}"
        trade.update(state="SUCCESS", transaction_id=tx)
        self.transactions[tx] = {"total": trade["total"], "out_trade_no": number, "refunded": 0}
        return self.notify("TRANSACTION.SUCCESS", {
            "appid": self.appid, "mchid": self.mch_id, "out_trade_no": number, "transaction_id": tx,
            "trade_state": "SUCCESS", "amount": {"total": trade["total"], "currency": "CNY"}}, "transaction",
            summary="支付成功")
