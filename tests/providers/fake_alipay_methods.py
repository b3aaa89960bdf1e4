"""The fake Alipay's methods and state (fund authorizations, trades, refunds, Zhima credit orders), moving as
Alipay's do per the SDK models' comments and error tables cited in fake_alipay_rules.py."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

ADMIT_STABLE = 7  # distinct admittance_score values tolerated: "频繁的变更该标准可能导致接口被停用"
PRE_AUTH = ("PREAUTH_PAY", "PRE_AUTH_ONLINE", "PRE_AUTH")  # N AlipayFundAuthOrderAppFreezeModel / TradePayModel


def fen(yuan: str) -> int:
    return int(Decimal(yuan) * 100)


def yuan(fen_amount: int) -> str:
    return f"{Decimal(fen_amount) / 100:.2f}"


def ok(**fields: Any) -> dict:
    return {"code": "10000", "msg": "Success", **fields}


def fail(sub_code: str, sub_msg: str = "") -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg or sub_code}


class FakeAlipayMethods:
    violations: list[str]
    violate: Callable[[str], None]
    open_order_string: Callable[[str, str], dict]
    notification: Callable[..., dict]
    seller_id: str
    op_app_id: str
    app_id: str

    def init_state(self) -> None:
        self.users: dict[str, dict] = {}  # login code -> {"user_id": ...} or {"open_id": ...}
        self.scores: dict[str, int] = {}  # user_id or open_id -> Zhima score (absent: N/A)
        self.admittance_scores: list[int] = []
        self.auths: dict[str, dict] = {}  # auth_no -> fund authorization order
        self.trades: dict[str, dict] = {}  # out_trade_no -> trade
        self.refunds: dict[str, dict] = {}  # "trade_no|out_request_no" -> refund
        self.credit_orders: dict[str, dict] = {}  # out_order_no -> Zhima credit order
        self.finishes: list[dict] = []  # creditbizorder.finish calls that ended an order
        self.fulfilled: list[str] = []  # auth_no of every unfreeze carrying bizComplete "true"
        self.now_text = ""  # the last request's timestamp (Beijing time, the app's clock): when things happen
        self.bill_files: dict[str, bytes] = {}  # download token -> zip
        self.handlers: dict[str, Callable[[dict, dict], dict]] = {
            "alipay.data.dataservice.bill.downloadurl.query": self.bill_url,
            "zhima.credit.score.brief.get": self.zhima,
            "alipay.fund.auth.order.unfreeze": self.unfreeze,
            "alipay.fund.auth.operation.detail.query": self.detail,
            "alipay.fund.auth.operation.cancel": self.cancel,
            "alipay.trade.pay": self.pay,
            "alipay.trade.create": self.create,
            "alipay.trade.query": self.trade_query,
            "alipay.trade.refund": self.refund,
            "alipay.trade.fastpay.refund.query": self.refund_query,
            "zhima.credit.payafteruse.creditbizorder.query": self.credit_query,
            "zhima.credit.payafteruse.creditbizorder.finish": self.credit_finish,
            "alipay.open.app.mini.templatemessage.send": self.template_message,
        }
        self.subscribed: dict[str, set[str]] = {}  # user_id -> subscription templates the user accepted
        self.template_messages: list[dict] = []

    # -- mini-program messages -----------------------------------------------------------------
    def template_message(self, params: dict, biz: dict) -> dict:
        if biz.get("form_id"):
            self.violate("alipay.open.app.mini.templatemessage.send: form_id sent for a subscription template")
        if biz["user_template_id"] not in self.subscribed.get(biz["to_user_id"], set()):
            return fail("USER_NOT_SUBSCRIBE", "用户未订阅该模板")
        self.template_messages.append(biz)
        return ok()

    # -- users ---------------------------------------------------------------------------------
    def open_ids(self) -> set[str]:
        return {u["open_id"] for u in self.users.values() if "open_id" in u}

    def oauth(self, params: dict) -> dict:
        if params.get("grant_type") != "authorization_code" or not params.get("code"):
            self.violate("alipay.system.oauth.token: grant_type authorization_code and code required")
        user = self.users.get(params.get("code", ""))
        if not user:
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.code-invalid"}
        return {
            **user,
            "access_token": "tok",
            "expires_in": 1296000,
            "refresh_token": "ref",
            "re_expires_in": 2592000,
        }  # success carries no code (AlipaySystemOauthTokenResponse)

    def _buyer_problem(self, biz: dict, payer: dict | None) -> str | None:
        """buyer_id is a 2088 user id; an open_id app's user is named by buyer_open_id (or op_buyer_open_id)."""
        if biz.get("buyer_id") in self.open_ids():
            return "an open_id sent as buyer_id"
        if biz.get("op_buyer_open_id") and biz.get("op_app_id") != (self.op_app_id or None):
            return "op_buyer_open_id without the mini-program's op_app_id"
        if payer is not None and not any(
            biz.get(k) and biz.get(k) == payer.get(v)
            for k, v in (("buyer_id", "user_id"), ("buyer_open_id", "open_id"), ("op_buyer_open_id", "open_id"))
        ):
            return "buyer does not match the authorization's payer"
        return None

    # -- Zhima admission -------------------------------------------------------------------------
    def zhima(self, params: dict, biz: dict) -> dict:
        if biz.get("cert_no") in self.open_ids():
            self.violate("zhima.credit.score.brief.get: an open_id sent as cert_no")
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-parameter"}
        self.admittance_scores.append(biz["admittance_score"])
        if len(set(self.admittance_scores)) > ADMIT_STABLE:
            self.violate("zhima.credit.score.brief.get: admittance_score changed too often")
        score = self.scores.get(biz.get("cert_no") or biz.get("open_id"))
        answer = "N/A" if score is None else ("Y" if score >= biz["admittance_score"] else "N")
        return ok(biz_no=f"ZM{biz['transaction_id']}", is_admittance=answer)

    # -- fund authorization ----------------------------------------------------------------------
    def open_freeze(
        self, order_str: str, succeed: bool = True, complete: bool = True, user: str | None = None
    ) -> dict[str, str] | None:
        """The user (login code `user`, if the test wants the payer checked on captures) opens the freeze order
        string: authorized (SUCCESS), refused (CLOSED) or left before the end (INIT, no notification).
        Returns the signed fund_auth_freeze notification."""
        biz = self.open_order_string(order_str, "alipay.fund.auth.order.app.freeze")
        status = "INIT" if not complete else ("SUCCESS" if succeed else "CLOSED")
        auth_no = f"2026AUTH{len(self.auths):08d}"
        self.auths[auth_no] = {
            "out_order_no": biz["out_order_no"],
            "freeze_request": biz["out_request_no"],
            "amount": fen(biz["amount"]),
            "rest": fen(biz["amount"]) if status == "SUCCESS" else 0,
            "status": status,
            "ops": {},
            "payer": self.users.get(user) if user else None,
        }
        if status == "INIT":
            return None
        return self.notification(
            notify_type="fund_auth_freeze",
            out_order_no=biz["out_order_no"],
            out_request_no=biz["out_request_no"],
            auth_no=auth_no,
            amount=biz["amount"],
            status=status,
            operation_id=f"op{auth_no}",
        )

    def _auth(self, biz: dict) -> tuple[str | None, dict | None]:
        if biz.get("auth_no"):
            return biz["auth_no"], self.auths.get(biz["auth_no"])
        for auth_no, auth in self.auths.items():
            if auth["out_order_no"] == biz.get("out_order_no"):
                return auth_no, auth
        return None, None

    def unfreeze(self, params: dict, biz: dict) -> dict:
        auth_no, auth = self._auth(biz)
        if auth is None:
            return fail("AUTH_ORDER_NOT_EXIST")
        amount, number = fen(biz["amount"]), biz["out_request_no"]
        done = auth["ops"].get(number)
        if done and (done["type"] != "UNFREEZE" or done["amount"] != amount):
            self.violate(f"unfreeze {number}: the same request number with another amount or operation")
            return fail("ILLEGAL_ARGUMENT")
        if not done:
            if auth["status"] != "SUCCESS" or amount > auth["rest"]:
                return fail("ILLEGAL_ARGUMENT", "more than the frozen rest")
            if self._biz_complete(biz):
                if auth_no in self.fulfilled:
                    self.violate(f"unfreeze {number}: bizComplete sent twice for {auth_no}")
                self.fulfilled.append(auth_no)
            auth["rest"] -= amount
            done = auth["ops"][number] = {"type": "UNFREEZE", "amount": amount, "status": "SUCCESS"}
        return ok(
            auth_no=auth_no,
            out_order_no=auth["out_order_no"],
            out_request_no=number,
            operation_id=f"op{number}",
            amount=yuan(amount),
            status="SUCCESS",
        )

    def _biz_complete(self, biz: dict) -> bool:
        """extra_param is a map<string, string> JSON; unfreezeBizInfo's value is itself JSON (N Unfreeze model)."""
        if not biz.get("extra_param"):
            return False
        info = json.loads(biz["extra_param"]).get("unfreezeBizInfo")
        if info is None:
            return False
        if not isinstance(info, str):
            self.violate("unfreeze extra_param: unfreezeBizInfo must be a string (map<string, string>)")
            return False
        return json.loads(info).get("bizComplete") == "true"

    def detail(self, params: dict, biz: dict) -> dict:
        auth_no, auth = self._auth(biz)
        if auth is None:
            return fail("AUTH_ORDER_NOT_EXIST")
        number, kind = biz.get("out_request_no"), biz.get("operation_type")
        if number == auth["freeze_request"] and kind in (None, "FREEZE"):
            op = {"type": "FREEZE", "amount": auth["amount"], "status": auth["status"]}
        else:
            op = auth["ops"].get(number)
            if op is None or (kind and op["type"] != kind):
                return fail("AUTH_OPERATION_NOT_EXIST")
        order_status = {"INIT": "INIT", "SUCCESS": "AUTHORIZED", "CLOSED": "CLOSED"}[auth["status"]]
        if auth["status"] == "SUCCESS" and auth["rest"] == 0:
            order_status = "FINISH"
        return ok(
            auth_no=auth_no,
            out_order_no=auth["out_order_no"],
            out_request_no=number,
            operation_type=op["type"],
            amount=yuan(op["amount"]),
            status=op["status"],
            order_status=order_status,
            rest_amount=yuan(auth["rest"]),
        )

    def cancel(self, params: dict, biz: dict) -> dict:
        auth_no, auth = self._auth(biz)
        if auth is None:
            return fail("AUTH_ORDER_NOT_EXIST")
        action = "close" if auth["status"] == "INIT" else "unfreeze"
        auth["status"], auth["rest"], auth["cancelled"] = "CLOSED", 0, True
        return ok(
            auth_no=auth_no, out_order_no=auth["out_order_no"], out_request_no=auth["freeze_request"], action=action
        )

    # -- trades ----------------------------------------------------------------------------------
    def _trade(self, biz: dict, status: str, **facts: Any) -> dict:
        trade = {
            "trade_no": f"2026{len(self.trades) + 1:012d}",
            "total_amount": biz["total_amount"],
            "status": status,
            "biz": biz,
            "refunded": 0,
            "paid_at": self.now_text,
            **facts,
        }
        self.trades[biz["out_trade_no"]] = trade
        return trade

    def pay(self, params: dict, biz: dict) -> dict:
        if biz["out_trade_no"] in self.trades:  # a repeated out_trade_no pays nothing again
            return fail("ACQ.TRADE_HAS_SUCCESS")
        if biz.get("product_code") in PRE_AUTH:
            return self._pay_from_freeze(biz)
        if biz.get("scene") == "ZHIMA_CREDIT_CODE":
            return self._withhold(biz)
        self.violate(f"alipay.trade.pay: product {biz.get('product_code')} not signed by this merchant")
        return fail("ACQ.ACCESS_FORBIDDEN")

    def _pay_from_freeze(self, biz: dict) -> dict:
        """Pre-auth to payment: auth_no, seller_id and buyer_id (or buyer_open_id) required (N TradePayModel)."""
        missing = [f for f in ("auth_no", "seller_id") if not biz.get(f)]
        if not (biz.get("buyer_id") or biz.get("buyer_open_id")):
            missing.append("buyer_id")
        auth = self.auths.get(biz.get("auth_no", ""))
        problem = self._buyer_problem(biz, auth["payer"] if auth else None)
        if missing or problem or biz.get("seller_id") != self.seller_id:
            self.violate(f"alipay.trade.pay pre-auth: missing {missing} / {problem} / seller {biz.get('seller_id')}")
            return fail("ACQ.INVALID_PARAMETER")
        amount = fen(biz["total_amount"])
        if auth is None or auth["status"] != "SUCCESS" or amount > auth["rest"]:
            return fail("ACQ.TRADE_NOT_ALLOWED", "the authorization cannot pay this")
        auth["rest"] -= amount
        if biz.get("auth_confirm_mode") == "COMPLETE":
            auth["rest"] = 0
        trade = self._trade(biz, "TRADE_SUCCESS")
        return ok(trade_no=trade["trade_no"], out_trade_no=biz["out_trade_no"], total_amount=biz["total_amount"])

    def _withhold(self, biz: dict) -> dict:
        """The one deduction under a confirmed (INIT) Zhima credit order; asynchronous: 10003 until settled."""
        order = next((o for o in self.credit_orders.values() if o["credit_biz_order_id"] == biz.get("auth_code")), None)
        if order is None or order["status"] != "INIT":
            return fail("ACQ.AUTH_CODE_INVALID")
        if fen(biz["total_amount"]) > fen(order["amount"]):
            return fail("ACQ.TOTAL_FEE_EXCEED")
        trade = self._trade(biz, "WAIT_BUYER_PAY", credit_order=order)
        return {
            "code": "10003",
            "msg": "Order success pay inprocess",
            "trade_no": trade["trade_no"],
            "out_trade_no": biz["out_trade_no"],
            "total_amount": biz["total_amount"],
        }

    def create(self, params: dict, biz: dict) -> dict:
        problem = self._buyer_problem(biz, None)
        if problem:
            self.violate(f"alipay.trade.create: {problem}")
            return fail("ACQ.INVALID_PARAMETER")
        hb = biz.get("extend_params") or {}
        if "hb_fq_num" in hb and (
            hb["hb_fq_num"] not in ("3", "6", "12") or hb.get("hb_fq_seller_percent") not in ("0", "100")
        ):
            self.violate("alipay.trade.create: hb_fq_num 3/6/12 with hb_fq_seller_percent 0 or 100")
            return fail("ACQ.INVALID_PARAMETER")
        trade = self.trades.get(biz["out_trade_no"]) or self._trade(biz, "WAIT_BUYER_PAY")
        return ok(trade_no=trade["trade_no"], out_trade_no=biz["out_trade_no"])

    def _find_trade(self, biz: dict) -> tuple[str | None, dict | None]:
        for number, trade in self.trades.items():
            if number == biz.get("out_trade_no") or trade["trade_no"] == biz.get("trade_no"):
                return number, trade
        return None, None

    def trade_query(self, params: dict, biz: dict) -> dict:
        number, trade = self._find_trade(biz)
        if trade is None:
            return fail("ACQ.TRADE_NOT_EXIST")
        return ok(
            trade_no=trade["trade_no"],
            out_trade_no=number,
            trade_status=trade["status"],
            total_amount=trade["total_amount"],
        )

    def refund(self, params: dict, biz: dict) -> dict:
        """A refund goes against a trade (AlipayTradeRefundModel trade_no "支付宝交易号" / out_trade_no "订单支付时
        传入的商户订单号"); a fund authorization's auth_no is no trade (AlipayFundAuthOrderUnfreezeModel: a freeze's
        rest is given back by unfreeze), so a refund naming one is refused and recorded as a violation."""
        if biz.get("trade_no") in self.auths:
            self.violate(
                f"alipay.trade.refund: trade_no {biz['trade_no']} is a fund authorization's auth_no, "
                "not a trade (refund the trade.pay capture under it)"
            )
            return fail("ACQ.TRADE_NOT_EXIST")
        number, trade = self._find_trade(biz)
        if trade is None:
            return fail("ACQ.TRADE_NOT_EXIST")
        key = f"{trade['trade_no']}|{biz.get('out_request_no') or number}"
        if key in self.refunds:  # the same refund request number never refunds twice
            return ok(
                trade_no=trade["trade_no"], out_trade_no=number, refund_fee=yuan(trade["refunded"]), fund_change="N"
            )
        amount = fen(biz["refund_amount"])
        if trade["status"] not in ("TRADE_SUCCESS",) or trade["refunded"] + amount > fen(trade["total_amount"]):
            return fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
        trade["refunded"] += amount
        self.refunds[key] = {
            "amount": amount,
            "refund_amount": biz["refund_amount"],
            "out_trade_no": number,
            "out_request_no": biz.get("out_request_no") or number,
            "at": self.now_text,
        }
        return ok(trade_no=trade["trade_no"], out_trade_no=number, refund_fee=yuan(trade["refunded"]), fund_change="Y")

    def refund_query(self, params: dict, biz: dict) -> dict:
        number, trade = self._find_trade(biz)
        if trade is None:
            return fail("ACQ.TRADE_NOT_EXIST")
        refund = self.refunds.get(f"{trade['trade_no']}|{biz['out_request_no']}")
        if refund is None:  # no such refund: success without refund_amount
            return ok(trade_no=trade["trade_no"], out_trade_no=number, out_request_no=biz["out_request_no"])
        return ok(
            trade_no=trade["trade_no"],
            out_trade_no=number,
            out_request_no=biz["out_request_no"],
            refund_amount=yuan(refund["amount"]),
            total_amount=trade["total_amount"],
            refund_status="REFUND_SUCCESS",
        )

    def settle_trade(self, out_trade_no: str, paid: bool = True) -> dict[str, str]:
        """An asynchronous trade finishes (withholding collected, or the user paid); the notification."""
        trade = self.trades[out_trade_no]
        trade["status"] = "TRADE_SUCCESS" if paid else "TRADE_CLOSED"
        trade["paid_at"] = self.now_text
        if paid and trade.get("credit_order"):
            trade["credit_order"]["status"] = "TRADE_FINISHED"  # completes by itself after the deduction
        return self.notification(
            notify_type="trade_status_sync",
            notify_id=f"ntf-{trade['trade_no']}",
            out_trade_no=out_trade_no,
            trade_no=trade["trade_no"],
            trade_status=trade["status"],
            total_amount=trade["total_amount"],
            gmt_payment="2026-11-30 18:00:00",
        )

    def pay_trade(self, trade_no: str, paid: bool = True) -> dict[str, str]:
        out_trade_no = next(k for k, t in self.trades.items() if t["trade_no"] == trade_no)
        if self.trades[out_trade_no]["status"] != "WAIT_BUYER_PAY":
            self.violate(f"trade {trade_no} is not payable")
        return self.settle_trade(out_trade_no, paid)

    # -- Zhima credit orders (先享) ---------------------------------------------------------------
    def open_credit_order(self, order_str: str, confirm: bool = True) -> dict[str, str]:
        biz = self.open_order_string(order_str, "zhima.credit.payafteruse.creditbizorder.create")
        order = {
            "credit_biz_order_id": f"ZMCB{len(self.credit_orders):010d}",
            "amount": biz.get("order_amount"),
            "status": "INIT" if confirm else "TRADE_CLOSED",
        }
        self.credit_orders[biz["out_order_no"]] = order
        change = {
            "out_order_no": biz["out_order_no"],
            "credit_biz_order_id": order["credit_biz_order_id"],
            "order_status": order["status"],
        }
        return self.notification(
            msg_method="zhima.credit.payafteruse.creditbizorder.changed",
            notify_id=f"msg-{order['credit_biz_order_id']}",
            biz_content=json.dumps(change, separators=(",", ":")),
        )

    def credit_query(self, params: dict, biz: dict) -> dict:
        order = self.credit_orders.get(biz.get("out_order_no", "")) or next(
            (o for o in self.credit_orders.values() if o["credit_biz_order_id"] == biz.get("credit_biz_order_id")), None
        )
        if not order:
            return fail("ORDER_NOT_EXIST")
        return ok(
            credit_biz_order_id=order["credit_biz_order_id"],
            order_status=order["status"],
            total_amount=order["amount"],
            product_code="CREDIT_PAY_AFTER_USE",
        )

    def credit_finish(self, params: dict, biz: dict) -> dict:
        order = next(
            (o for o in self.credit_orders.values() if o["credit_biz_order_id"] == biz["credit_biz_order_id"]), None
        )
        if order is None:
            return fail("ORDER_NOT_EXIST")
        if order["status"] != "INIT":
            return fail("ORDER_STATUS_NOT_SUPPORT")
        order["status"] = "TRADE_CLOSED" if biz["is_fulfilled"] == "false" else "TRADE_FINISHED"
        self.finishes.append(dict(biz))
        return ok(
            credit_biz_order_id=order["credit_biz_order_id"],
            out_request_no=biz["out_request_no"],
            order_status=order["status"],
        )

    # -- the daily trade bill ----------------------------------------------------------------------
    def bill_url(self, params: dict, biz: dict) -> dict:
        """bill_date must be a past day (T+1: no bill of today, by the request's own timestamp); the answer is a
        download URL of a zip holding the GBK business-detail CSV (alipay_bill.py cites the layout)."""
        day = biz["bill_date"]
        if biz["bill_type"] != "trade" or len(day) != 10:
            self.violate(f"bill: only the daily trade bill is served here, got {biz}")
            return fail("isp.bill_not_exist")
        if day >= params["timestamp"][:10]:
            return fail("isp.bill_not_exist", "the bill of this day is not generated yet")
        token = f"b{len(self.bill_files) + 1}"
        self.bill_files[token] = self.bill_zip(day)
        rows = self.bill_rows(day)
        return ok(
            bill_download_url=f"{getattr(self, 'url', '')}/bill/{token}",
            **({} if rows else {"bill_file_code": "EMPTY_DATA_WITH_BILL_FILE"}),
        )

    def bill_rows(self, day: str) -> list[list[str]]:
        rows = []
        for number, trade in self.trades.items():
            if trade["status"] in ("TRADE_SUCCESS", "TRADE_FINISHED") and trade["paid_at"][:10] == day:
                rows.append([trade["trade_no"], number, "交易", trade["paid_at"], trade["total_amount"], ""])
        for key, refund in self.refunds.items():
            if refund["at"][:10] == day:
                rows.append(
                    [
                        key.split("|")[0],
                        refund["out_trade_no"],
                        "退款",
                        refund["at"],
                        "-" + yuan(refund["amount"]),
                        refund["out_request_no"],
                    ]
                )
        return rows

    def bill_zip(self, day: str) -> bytes:
        import csv
        import io
        import zipfile

        header = [
            "支付宝交易号",
            "商户订单号",
            "业务类型",
            "商品名称",
            "创建时间",
            "完成时间",
            "门店编号",
            "门店名称",
            "操作员",
            "终端号",
            "对方账户",
            "订单金额（元）",
            "商家实收（元）",
            "支付宝红包（元）",
            "集分宝（元）",
            "支付宝优惠（元）",
            "商家优惠（元）",
            "券核销金额（元）",
            "券名称",
            "商家红包消费金额（元）",
            "卡消费金额（元）",
            "退款批次号/请求号",
            "服务费（元）",
            "分润（元）",
            "备注",
        ]
        out = io.StringIO()
        out.write(f"#支付宝业务明细查询\n#账号：[{self.seller_id}0156]\n#起始日期：[{day} 00:00:00]\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for trade_no, number, kind, at, amount, request_no in self.bill_rows(day):
            row = dict.fromkeys(header, "")
            row.update(
                {
                    "支付宝交易号": trade_no + "\t",
                    "商户订单号": number + "\t",
                    "业务类型": kind,
                    "创建时间": at,
                    "完成时间": at,
                    "订单金额（元）": amount,
                    "商家实收（元）": amount,
                    "退款批次号/请求号": request_no + "\t" if request_no else "",
                    "服务费（元）": "0.00",
                }
            )
            writer.writerow([row[h] for h in header])
        out.write("#-----------------------------------------业务明细列表结束------------------------------------\n")

        class GbkName(zipfile.ZipInfo):  # Alipay's zips name their files in GBK, without the UTF-8 flag
            def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's own hook
                return self.filename.encode("gbk"), self.flag_bits

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            compact = day.replace("-", "")
            archive.writestr(GbkName(f"{self.seller_id}0156_{compact}_业务明细.csv"), out.getvalue().encode("gbk"))
            archive.writestr(
                GbkName(f"{self.seller_id}0156_{compact}_业务明细(汇总).csv"), "#支付宝业务汇总查询\n".encode("gbk")
            )
        return buffer.getvalue()
