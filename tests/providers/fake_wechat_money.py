"""The strict fake's permission (consent), domestic refund and JSAPI endpoints (rules in fake_wechat_rules.py)."""

from __future__ import annotations

from tests.providers import fake_wechat_rules as r
from tests.providers.fake_wechat_orders import rfc3339
from tests.providers.fake_wechat_rules import Refusal, param_error


class MoneyEndpoints:
    """Mixin of FakeWechat: consent, refunds (REFUND.* notifications), cash deposits."""

    consents: dict[str, dict]
    bill_files: dict[str, bytes]
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
        consent = self.consents.setdefault(
            code, {"state": "UNAVAILABLE", "service_id": body["service_id"], "openid": None, "tokens": []}
        )
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
        return 200, {
            "service_id": consent["service_id"],
            "appid": self.appid,
            "mchid": self.mch_id,
            "authorization_code": code,
            "authorization_state": consent["state"],
            **({"openid": consent["openid"]} if consent["openid"] else {}),
        }

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
            (k for k, t in self.transactions.items() if t.get("out_trade_no") == body["out_trade_no"]), None
        )
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
        item = self.refunds[number] = {
            "body": body,
            "out_refund_no": number,
            "transaction_id": tx_id,
            "refund_id": f"5030{len(self.refunds):024d}",
            "status": "PROCESSING",
            "refund": refund,
            "total": total,
            "created_at": self.now(),
        }
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
        return {
            "refund_id": item["refund_id"],
            "out_refund_no": item["out_refund_no"],
            "transaction_id": item["transaction_id"],
            "out_trade_no": tx.get("out_trade_no", ""),
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "status": item["status"],
            "create_time": rfc3339(item["created_at"]),
            **({"success_time": rfc3339(item["done_at"])} if item["status"] == "SUCCESS" else {}),
            "amount": {
                "total": item["total"],
                "refund": item["refund"],
                "payer_total": item["total"],
                "payer_refund": item["refund"],
                "settlement_refund": item["refund"],
                "settlement_total": item["total"],
                "discount_refund": 0,
                "currency": "CNY",
            },
        }

    def finish_refund(self, number: str, status: str = "SUCCESS") -> tuple[dict, bytes]:
        """The refund ends (DOC refunds/refund-result-notice.html): REFUND.SUCCESS / ABNORMAL / CLOSED."""
        assert status in ("SUCCESS", "ABNORMAL", "CLOSED")
        item = self.refunds[number]
        item.update(status=status, done_at=self.now())
        if status == "CLOSED":
            self.transactions[item["transaction_id"]]["refunded"] -= item["refund"]
        view = self.refund_view(item)
        resource = {
            "mchid": self.mch_id,
            "out_trade_no": view["out_trade_no"],
            "transaction_id": view["transaction_id"],
            "out_refund_no": number,
            "refund_id": view["refund_id"],
            "refund_status": status,
            "user_received_account": view["user_received_account"],
            "amount": {k: view["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")},
            **({"success_time": view["success_time"]} if "success_time" in view else {}),
        }
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
        return 200, {
            "appid": self.appid,
            "mchid": self.mch_id,
            "out_trade_no": number,
            "trade_state": trade["state"],
            "amount": {"total": trade["total"], "currency": "CNY"},
            **({"transaction_id": trade["transaction_id"]} if trade.get("transaction_id") else {}),
        }

    def pay_trade(self, number: str) -> tuple[dict, bytes]:
        """The user pays the JSAPI trade: TRANSACTION.SUCCESS."""
        trade = self.trades[number]
        tx = f"4200{len(self.transactions) + 1:024d}"
        trade.update(state="SUCCESS", transaction_id=tx)
        self.transactions[tx] = {"total": trade["total"], "out_trade_no": number, "refunded": 0, "at": self.now()}
        return self.notify(
            "TRANSACTION.SUCCESS",
            {
                "appid": self.appid,
                "mchid": self.mch_id,
                "out_trade_no": number,
                "transaction_id": tx,
                "trade_state": "SUCCESS",
                "amount": {"total": trade["total"], "currency": "CNY"},
            },
            "transaction",
            summary="支付成功",
        )

    # -- the daily trade bill (rules BILL, BILL_DOWNLOAD) ------------------------------------------------
    def trade_bill(self, query: dict, body: dict) -> tuple[int, dict]:
        import hashlib
        import re
        from datetime import datetime

        from tests.providers.fake_wechat_orders import BEIJING

        r.only_fields(query, r.BILL_FIELDS)
        day = query.get("bill_date", "")
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", day):
            raise param_error("BILL", "bill_date: YYYY-MM-DD")
        if query.get("bill_type", "ALL") not in ("ALL", "SUCCESS", "REFUND") or query.get("tar_type", "GZIP") != "GZIP":
            raise param_error("BILL", "bill_type ALL|SUCCESS|REFUND, tar_type GZIP")
        if day >= datetime.fromtimestamp(self.now(), tz=BEIJING).date().isoformat():
            raise Refusal(400, "STATEMENT_CREATING", "账单生成中")
        text = self.bill_text(day, query.get("bill_type", "ALL"))
        if text is None:
            raise Refusal(400, "NO_STATEMENT_EXIST", "账单文件不存在")
        token = f"t{len(self.bill_files) + 1}"
        self.bill_files[token] = text.encode()
        return 200, {
            "download_url": f"{getattr(self, 'url', '')}/v3/billdownload/file?token={token}",
            "hash_type": "SHA1",
            "hash_value": hashlib.sha1(text.encode()).hexdigest(),
        }  # noqa: S324

    def bill_text(self, day: str, kind: str) -> str | None:
        """The file: a header, rows with every field prefixed by '`', then the summary header and row."""
        from datetime import datetime

        from tests.providers.fake_wechat_orders import BEIJING

        def local(ts: int) -> str:
            return datetime.fromtimestamp(ts, tz=BEIJING).strftime("%Y-%m-%d %H:%M:%S")

        header = [
            "交易时间",
            "公众账号ID",
            "商户号",
            "特约商户号",
            "设备号",
            "微信订单号",
            "商户订单号",
            "用户标识",
            "交易类型",
            "交易状态",
            "付款银行",
            "货币种类",
            "应结订单金额",
            "代金券金额",
            "微信退款单号",
            "商户退款单号",
            "退款金额",
            "充值券退款金额",
            "退款类型",
            "退款状态",
            "商品名称",
            "商户数据包",
            "手续费",
            "费率",
            "订单金额",
            "申请退款金额",
            "费率备注",
        ]
        rows = []
        for tx, t in self.transactions.items():
            if kind != "REFUND" and local(t.get("at", 0))[:10] == day:
                yuan = f"{t['total'] / 100:.2f}"
                rows.append(
                    {
                        "交易时间": local(t["at"]),
                        "微信订单号": tx,
                        "商户订单号": t.get("out_trade_no") or t.get("out_order_no", ""),
                        "交易状态": "SUCCESS",
                        "应结订单金额": yuan,
                        "订单金额": yuan,
                        "退款金额": "0.00",
                        "申请退款金额": "0.00",
                    }
                )
        for number, item in self.refunds.items():
            if kind != "SUCCESS" and item["status"] == "SUCCESS" and local(item["done_at"])[:10] == day:
                tx = self.transactions[item["transaction_id"]]
                rows.append(
                    {
                        "交易时间": local(item["done_at"]),
                        "微信订单号": item["transaction_id"],
                        "商户订单号": tx.get("out_trade_no") or tx.get("out_order_no", ""),
                        "交易状态": "REFUND",
                        "应结订单金额": "0.00",
                        "订单金额": f"{tx['total'] / 100:.2f}",
                        "商户退款单号": number,
                        "微信退款单号": item["refund_id"],
                        "退款金额": f"{item['refund'] / 100:.2f}",
                        "申请退款金额": f"{item['refund'] / 100:.2f}",
                        "退款状态": "SUCCESS",
                    }
                )
        if not rows:
            return None
        lines = [",".join(header)]
        lines += [",".join("`" + row.get(h, "") for h in header) for row in rows]
        lines.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
        lines.append(f"`{len(rows)},`0.00,`0.00,`0.00,`0.00,`0.00,`0.00")
        return "\r\n".join(lines) + "\r\n"
