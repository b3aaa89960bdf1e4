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
