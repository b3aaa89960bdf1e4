"""Local fake gateways (loopback HTTP, our own fresh test keys) that answer as Alipay and WeChat Pay do:
they check our signatures, sign their answers, and build signed notifications."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.providers import alipay_format, keys, wechat_format


def new_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_b64(key: Any) -> str:
    """Alipay's form: the bare base64 DER of the public key."""
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def public_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class FakeGateway:
    """A loopback HTTP server on port 0; subclasses answer (status, headers, body) per request."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, out = gateway.answer(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeAlipay(FakeGateway):
    """Alipay's OpenAPI gateway: RSA2 request check, signed `<method>_response` nodes."""

    def __init__(self, app_id: str = "2021000000000001") -> None:
        self.app_id = app_id
        self.merchant_key, self.alipay_key = new_key(), new_key()
        self.scores: dict[str, int] = {}
        self.users: dict[str, str] = {}  # login code -> user id
        self.freezes: dict[str, dict] = {}  # out_request_no -> {status, auth_no, amount}
        self.trades: dict[str, dict] = {}
        self.pay_answer: dict | None = None  # force an answer to alipay.trade.pay
        self.detail_answer: dict | None = None  # force an answer to the freeze detail query
        self.handlers: dict[str, Callable[[dict, dict], dict]] = {
            "alipay.system.oauth.token": self._oauth, "zhima.credit.score.brief.get": self._zhima,
            "alipay.fund.auth.order.unfreeze": self._unfreeze, "alipay.trade.pay": self._pay,
            "alipay.trade.query": self._trade_query, "alipay.fund.auth.operation.detail.query": self._detail,
            "alipay.trade.refund": self._refund, "alipay.trade.create": self._create,
            "zhima.credit.payafteruse.creditbizorder.query": self._credit_order_query,
            "zhima.credit.payafteruse.creditbizorder.cancel": self._credit_order_cancel}
        self.closes: list[dict] = []  # creditbizorder.cancel calls that closed an open credit order
        self.down: set[str] = set()  # methods answered HTTP 503 (the gateway is unreachable for them)
        self.credit_orders: dict[str, dict] = {}  # out_order_no -> {status, credit_biz_order_id, amount}
        self.refunds: dict[str, dict] = {}  # (trade_no, out_request_no) -> refund, as Alipay dedupes them
        super().__init__()

    def env(self) -> dict[str, str]:
        return {"CREDITFIRST_ALIPAY_APP_ID": self.app_id, "CREDITFIRST_ALIPAY_GATEWAY": f"{self.url}/gateway.do",
                "CREDITFIRST_ALIPAY_PRIVATE_KEY": private_pem(self.merchant_key),
                "CREDITFIRST_ALIPAY_PUBLIC_KEY": public_b64(self.alipay_key),
                "CREDITFIRST_ALIPAY_NOTIFY_URL": "https://example.test/v1/callbacks/alipay"}

    def check_signed(self, params: dict[str, str]) -> bool:
        content = alipay_format.request_sign_content(params).encode()
        return keys.verify(self.merchant_key.public_key(), content, params.get("sign", ""))

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        self.calls.append(params)
        name = params.get("method", "")
        if name in self.down:
            return 503, {"Content-Type": "text/html"}, b"service unavailable"
        if not self.check_signed(params) or params.get("app_id") != self.app_id:
            node = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
        else:
            biz = json.loads(params.get("biz_content") or "{}")
            node = self.handlers[name](params, biz)
        return self.respond(name, node)

    def respond(self, method: str, node: dict) -> tuple[int, dict, bytes]:
        text = json.dumps(node, ensure_ascii=False)
        sign = keys.sign(self.alipay_key, text.encode())
        name = "error_response" if node.get("code") == "40002" else method.replace(".", "_") + "_response"
        out = '{"' + name + '":' + text + ',"sign":"' + sign + '"}'
        return 200, {"Content-Type": "text/html;charset=utf-8"}, out.encode()

    # -- methods ---------------------------------------------------------------------------
    @staticmethod
    def _ok(**fields: Any) -> dict:
        return {"code": "10000", "msg": "Success", **fields}

    @staticmethod
    def _fail(sub_code: str) -> dict:
        return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_code}

    def _oauth(self, params: dict, biz: dict) -> dict:
        user = self.users.get(params.get("code", ""))
        if not user:  # as Alipay does: an error_response with 40002
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.code-invalid"}
        return {"user_id": user, "access_token": "tok", "expires_in": 1296000}  # success carries no code

    def _zhima(self, params: dict, biz: dict) -> dict:
        admitted = self.scores.get(biz["cert_no"], 0) >= int(biz["admit_score"])
        return self._ok(biz_no=f"zm-{biz['transaction_id']}", is_admittance="Y" if admitted else "N")

    def _unfreeze(self, params: dict, biz: dict) -> dict:
        return self._ok(auth_no=biz["auth_no"], out_request_no=biz["out_request_no"], operation_id="op-u",
                        amount=biz["amount"], status="SUCCESS")

    def _pay(self, params: dict, biz: dict) -> dict:
        if biz["out_trade_no"] in self.trades:  # as Alipay does for a repeated out_trade_no
            return self._fail("ACQ.TRADE_HAS_SUCCESS")
        if self.pay_answer:
            return dict(self.pay_answer)
        if biz.get("scene") == "ZHIMA_CREDIT_CODE":
            return self._credit_pay(biz)
        trade = self.trades.setdefault(biz["out_trade_no"], {"trade_no": f"2026{len(self.trades):012d}",
                                                             "total_amount": biz["total_amount"], "biz": biz})
        return self._ok(trade_no=trade["trade_no"], out_trade_no=biz["out_trade_no"],
                        total_amount=trade["total_amount"])

    def _credit_pay(self, biz: dict) -> dict:
        """Pay-after-use withholding: only under a confirmed credit order; asynchronous (10003) until settled."""
        if not any(o["credit_biz_order_id"] == biz.get("auth_code") and o["status"] == "INIT"
                   for o in self.credit_orders.values()):
            return self._fail("ACQ.AUTH_CODE_INVALID")
        trade = self.trades.setdefault(biz["out_trade_no"], {"trade_no": f"2026{len(self.trades):012d}",
                                                             "total_amount": biz["total_amount"], "biz": biz,
                                                             "status": "WAIT_BUYER_PAY"})
        return {"code": "10003", "msg": "Order success pay inprocess", "trade_no": trade["trade_no"],
                "out_trade_no": biz["out_trade_no"], "total_amount": trade["total_amount"]}

    def _trade_query(self, params: dict, biz: dict) -> dict:
        trade = self.trades.get(biz["out_trade_no"])
        if not trade:
            return self._fail("ACQ.TRADE_NOT_EXIST")
        return self._ok(trade_no=trade["trade_no"], trade_status=trade.get("status", "TRADE_SUCCESS"),
                        total_amount=trade["total_amount"])

    def _credit_order_query(self, params: dict, biz: dict) -> dict:
        order = self.credit_orders.get(biz.get("out_order_no", ""))
        if not order:  # not confirmed by the user yet
            return self._fail("ORDER_NOT_EXIST")
        return self._ok(out_order_no=biz["out_order_no"], credit_biz_order_id=order["credit_biz_order_id"],
                        order_status=order["status"], total_amount=order["amount"])

    def _credit_order_cancel(self, params: dict, biz: dict) -> dict:
        """Closes an open (confirmed, uncharged) credit order; a closed one or one never confirmed is refused."""
        order = self.credit_orders.get(biz.get("out_order_no", ""))
        if not order:
            return self._fail("ORDER_NOT_EXIST")
        if order["status"] != "INIT":
            return self._fail("ORDER_STATUS_NOT_SUPPORT")
        if biz.get("credit_biz_order_id") not in (None, order["credit_biz_order_id"]):
            return self._fail("ORDER_NOT_MATCH")
        order["status"] = "TRADE_CLOSED"
        self.closes.append(dict(biz))
        return self._ok(out_order_no=biz["out_order_no"], credit_biz_order_id=order["credit_biz_order_id"])

    def _detail(self, params: dict, biz: dict) -> dict:
        if self.detail_answer:
            return dict(self.detail_answer)
        freeze = self.freezes.get(biz["out_request_no"])
        if not freeze:
            return self._fail("OPERATION_NOT_EXIST")
        return self._ok(auth_no=freeze["auth_no"], status=freeze["status"], amount=freeze["amount"])

    def _create(self, params: dict, biz: dict) -> dict:
        """A trade the buyer pays in the app (WAIT_BUYER_PAY until then); a repeated out_trade_no is the same
        trade. Huabei installments: hb_fq_num 3/6/12 with hb_fq_seller_percent 0 or 100 only."""
        fq = biz.get("extend_params") or {}
        if "hb_fq_num" in fq and (fq["hb_fq_num"] not in ("3", "6", "12")
                                  or fq.get("hb_fq_seller_percent") not in ("0", "100")):
            return self._fail("ACQ.INVALID_PARAMETER")
        trade = self.trades.setdefault(biz["out_trade_no"], {"trade_no": f"2026{len(self.trades):012d}",
                                                             "total_amount": biz["total_amount"], "biz": biz,
                                                             "status": "WAIT_BUYER_PAY"})
        return self._ok(trade_no=trade["trade_no"], out_trade_no=biz["out_trade_no"])

    def _refund(self, params: dict, biz: dict) -> dict:
        key = f"{biz['trade_no']}|{biz.get('out_request_no', '')}"
        repeat = key in self.refunds  # Alipay answers a repeat without moving money again
        self.refunds.setdefault(key, dict(biz))
        return self._ok(trade_no=biz["trade_no"], refund_fee=biz["refund_amount"], fund_change="N" if repeat else "Y")

    # -- the user's side and notifications ------------------------------------------------
    def open_freeze(self, order_str: str, succeed: bool = True) -> dict[str, str]:
        """The user opens the signed order string; returns the signed notification Alipay would send."""
        params = dict(parse_qsl(order_str, keep_blank_values=True))
        assert self.check_signed(params), "order string not signed by the merchant"
        biz = json.loads(params["biz_content"])
        auth_no = f"2026AUTH{len(self.freezes):08d}"
        self.freezes[biz["out_request_no"]] = {"auth_no": auth_no, "amount": biz["amount"],
                                               "status": "SUCCESS" if succeed else "CLOSED"}
        return self.notification(notify_type="fund_auth_freeze", out_order_no=biz["out_order_no"],
                                 out_request_no=biz["out_request_no"], auth_no=auth_no, amount=biz["amount"],
                                 status="SUCCESS" if succeed else "CLOSED", operation_id="op-f")

    def open_credit_order(self, order_str: str, confirm: bool = True) -> dict[str, str]:
        """The user opens the pay-after-use order string and confirms (or cancels); returns the message
        Alipay's message service would send for the credit order's change."""
        params = dict(parse_qsl(order_str, keep_blank_values=True))
        assert self.check_signed(params), "order string not signed by the merchant"
        assert params["method"] == "zhima.credit.payafteruse.creditbizorder.create"
        biz = json.loads(params["biz_content"])
        order = {"credit_biz_order_id": f"ZMCB{len(self.credit_orders):010d}", "amount": biz["order_amount"],
                 "status": "INIT" if confirm else "TRADE_CLOSED"}
        self.credit_orders[biz["out_order_no"]] = order
        change = {"out_order_no": biz["out_order_no"], "credit_biz_order_id": order["credit_biz_order_id"],
                  "order_status": order["status"]}
        return self.notification(msg_method="zhima.credit.payafteruse.creditbizorder.changed",
                                 notify_id=f"msg-{order['credit_biz_order_id']}",
                                 biz_content=json.dumps(change, separators=(",", ":")))

    def settle_trade(self, out_trade_no: str, paid: bool = True) -> dict[str, str]:
        """The asynchronous withholding finishes; returns the trade_status_sync notification."""
        trade = self.trades[out_trade_no]
        trade["status"] = "TRADE_SUCCESS" if paid else "TRADE_CLOSED"
        return self.notification(notify_type="trade_status_sync", notify_id=f"ntf-{trade['trade_no']}",
                                 out_trade_no=out_trade_no, trade_no=trade["trade_no"], trade_status=trade["status"],
                                 total_amount=trade["total_amount"], gmt_payment="2026-11-30 18:00:00")

    def pay_trade(self, trade_no: str, paid: bool = True) -> dict[str, str]:
        """The user pays (my.tradePay with trade_no) or the trade times out unpaid; returns the notification."""
        out_trade_no = next(k for k, t in self.trades.items() if t["trade_no"] == trade_no)
        assert self.trades[out_trade_no].get("status") == "WAIT_BUYER_PAY", "the trade is not payable"
        return self.settle_trade(out_trade_no, paid)

    def notification(self, **fields: str) -> dict[str, str]:
        params = {"notify_id": f"ntf{len(self.calls)}{fields.get('out_request_no', '')}",
                  "notify_time": "2026-11-23 18:00:00", "charset": "utf-8", "version": "1.0",
                  "app_id": self.app_id, "sign_type": "RSA2", **fields}
        params["sign"] = keys.sign(self.alipay_key, alipay_format.notify_sign_content(params).encode())
        return params


class FakeWechat(FakeGateway):
    """WeChat Pay's v3 gateway: checks our Authorization header, signs answers with its platform key."""

    def __init__(self, apiv3_key: str = "0123456789abcdef0123456789abcdef") -> None:
        self.merchant_key, self.platform_key = new_key(), new_key()
        self.mch_id, self.serial, self.apiv3_key = "1900000001", "PUB_KEY_ID_0114232134912410000000000000", apiv3_key
        self.orders: dict[str, dict] = {}
        self.consents: dict[str, str] = {}
        self.refunds: dict[str, dict] = {}  # out_refund_no -> body (a repeat is the same refund)
        self.now: Callable[[], int] = lambda: 0
        self.closes: list[str] = []  # service orders a cancel revoked
        self.down: set[str] = set()  # path suffixes answered HTTP 503
        super().__init__()

    def env(self) -> dict[str, str]:
        return {"CREDITFIRST_WECHAT_MCH_ID": self.mch_id, "CREDITFIRST_WECHAT_APPID": "wxtestapp",
                "CREDITFIRST_WECHAT_SERVICE_ID": "svc1", "CREDITFIRST_WECHAT_APP_SECRET": "s3cret",
                "CREDITFIRST_WECHAT_PRIVATE_KEY": private_pem(self.merchant_key),
                "CREDITFIRST_WECHAT_CERT_SERIAL": "MERCHANTSERIAL1",
                "CREDITFIRST_WECHAT_PUBLIC_KEY": public_pem(self.platform_key),
                "CREDITFIRST_WECHAT_PUBLIC_KEY_ID": self.serial, "CREDITFIRST_WECHAT_APIV3_KEY": self.apiv3_key,
                "CREDITFIRST_WECHAT_GATEWAY": self.url, "CREDITFIRST_WECHAT_LOGIN_GATEWAY": self.url,
                "CREDITFIRST_WECHAT_NOTIFY_URL": "https://example.test/v1/callbacks/wechat"}

    def signed_headers(self, body: bytes, ts: int | None = None, nonce: str = "n0nce") -> dict[str, str]:
        ts = self.now() if ts is None else ts
        message = f"{ts}\n{nonce}\n".encode() + body + b"\n"
        return {"Wechatpay-Timestamp": str(ts), "Wechatpay-Nonce": nonce, "Wechatpay-Serial": self.serial,
                "Wechatpay-Signature": keys.sign(self.platform_key, message)}

    def _authorized(self, method: str, path: str, headers: dict, body: bytes) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith(wechat_format.SCHEMA + " "):
            return False
        fields = dict(p.split("=", 1) for p in auth[len(wechat_format.SCHEMA) + 1:].split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}
        message = wechat_format.request_message(method, path, fields["timestamp"], fields["nonce_str"], body.decode())
        return fields.get("mchid") == self.mch_id and keys.verify(self.merchant_key.public_key(), message,
                                                                  fields["signature"])

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        self.calls.append({"method": method, "path": path, "body": json.loads(body) if body else None})
        if path.startswith("/sns/jscode2session"):
            code = dict(parse_qsl(urlsplit(path).query))["js_code"]
            if code == "bad":
                return 200, {}, json.dumps({"errcode": 40029, "errmsg": "invalid code"}).encode()
            return 200, {}, json.dumps({"openid": f"o-{code}", "session_key": "k"}).encode()
        if any(urlsplit(path).path.endswith(suffix) for suffix in self.down):
            return 503, {"Content-Type": "application/json"}, b'{"code":"SYSTEM_ERROR"}'
        if not self._authorized(method, path, headers, body):
            status, out = 401, {"code": "SIGN_ERROR", "message": "bad signature"}
        else:
            status, out = self.route(method, urlsplit(path).path, json.loads(body) if body else {}, path)
        raw = json.dumps(out).encode()
        return status, {"Content-Type": "application/json", **self.signed_headers(raw)}, raw

    def route(self, method: str, path: str, body: dict, full: str) -> tuple[int, dict]:
        if path == "/v3/pay/transactions/jsapi":
            return 200, {"prepay_id": f"wx{body['out_trade_no']}"}
        if path == "/v3/refund/domestic/refunds":
            first = self.refunds.setdefault(body["out_refund_no"], body)
            return 200, {"refund_id": f"50{len(self.refunds):08d}", "out_refund_no": body["out_refund_no"],
                         "status": "SUCCESS", "amount": first["amount"]}
        if path.startswith("/v3/payscore/permissions/authorization-code/"):
            code = path.rsplit("/", 1)[1]
            state = self.consents.get(code)
            return (200, {"authorization_state": state, "openid": "o-user"}) if state else (404, {"code": "NOT_FOUND"})
        if path == "/v3/payscore/permissions":
            self.consents[body["authorization_code"]] = "UNAVAILABLE_YET"
            return 200, {"apply_permissions_token": f"tok-{body['authorization_code']}"}
        if path == "/v3/payscore/serviceorder" and method == "POST":
            self.orders[body["out_order_no"]] = {"state": "CREATED", **body}
            return 200, {"state": "CREATED", "package": f"pkg-{body['out_order_no']}", "order_id": "wx1"}
        if path == "/v3/payscore/serviceorder":
            order = self.orders.get(dict(parse_qsl(urlsplit(full).query))["out_order_no"])
            if not order:
                return 404, {"code": "ORDER_NOT_EXIST"}
            return 200, {"state": order["state"], **({"collection": order["collection"]} if "collection" in order else {})}
        number, action = path.split("/")[-2:]
        order = self.orders.get(number)
        if order is None:
            return 404, {"code": "ORDER_NOT_EXIST", "message": "no such order"}
        if action == "complete" and any(a == "complete" for a, _ in order.get("actions", [])):
            return 400, {"code": "ORDER_STATE_ERROR", "message": "already completed"}
        if action == "cancel" and order["state"] in ("REVOKED", "EXPIRED"):
            return 400, {"code": "ORDER_STATE_ERROR", "message": "already cancelled"}
        if action == "cancel":
            self.closes.append(number)
        order.setdefault("actions", []).append((action, body))
        order["state"] = {"complete": "DOING", "modify": "DOING", "cancel": "REVOKED"}[action]
        if action == "complete":
            order["collection"] = {"state": "USER_PAYING", "total_amount": body["total_amount"], "paid_amount": 0}
        return 200, {"state": order["state"], "out_order_no": number}

    def confirm(self, number: str, event_id: str) -> tuple[dict, bytes]:
        """The user confirms the service order in the mini-program: PAYSCORE.USER_CONFIRM."""
        order = self.orders[number]
        order["state"] = "DOING"
        return self.notification("PAYSCORE.USER_CONFIRM", {"out_order_no": number, "state": "DOING",
                                                           "risk_fund": order["risk_fund"]}, event_id)

    def collect(self, number: str, event_id: str) -> tuple[dict, bytes]:
        """Pay Score collects a completed order from the user: PAYSCORE.USER_PAID."""
        order = self.orders[number]
        total = order["collection"]["total_amount"]
        order["state"] = "DONE"
        order["collection"] = {"state": "USER_PAID", "total_amount": total, "paid_amount": total,
                               "details": [{"seq": 1, "amount": total, "paid_type": "NEWTON",
                                            "transaction_id": f"4200{len(self.orders):016d}"}]}
        return self.notification("PAYSCORE.USER_PAID", {"out_order_no": number, "state": "DONE",
                                                        "total_amount": total, "collection": order["collection"]},
                                 event_id)

    def notification(self, event_type: str, resource: dict, event_id: str = "evt-1") -> tuple[dict, bytes]:
        body = json.dumps({"id": event_id, "create_time": "2026-11-23T18:00:00+08:00",
                           "resource_type": "encrypt-resource", "event_type": event_type, "summary": "s",
                           "resource": wechat_format.encrypt_resource(resource, self.apiv3_key, "abcdefghijkl",
                                                                      "payscore")}).encode()
        return self.signed_headers(body), body
