"""A strict fake of Alipay's OpenAPI gateway, written from Alipay's definitions (see fake_alipay_rules.py for the
reference table), never from our adapter.

It verifies the RSA2 signature of every request (key mode, or certificate mode where app_cert_sn and
alipay_root_cert_sn must name the configured certificates), refuses unknown methods and missing, misnamed or
badly formatted fields with Alipay's error shapes, and RECORDS every violation in `violations` (flow tests
assert it stays empty). It keeps state (freezes, trades, refunds, credit orders), answers signed (certificate
mode adds alipay_cert_sn) and builds signed asynchronous notifications.

Failure injection: `down` (methods answered HTTP 503, nothing done), `lost` (method -> count: done, but the
answer never arrives: HTTP 504), `forced` (method -> list of answer nodes, used first, nothing done).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.providers.fake_alipay_certs import CertSet
from tests.providers.fake_alipay_methods import FakeAlipayMethods
from tests.providers.fake_alipay_rules import RULES, check
from tests.providers.fakes import FakeGateway, new_key, private_pem, public_b64

KNOWN = set(RULES) | {"alipay.system.oauth.token"}
ORDER_STRINGS = {"alipay.fund.auth.order.app.freeze", "zhima.credit.payafteruse.creditbizorder.create"}
GATEWAY_ERROR = {"40001": "Missing Required Arguments", "40002": "Invalid Arguments"}


def sign_content(params: dict[str, str], drop: tuple[str, ...] = ("sign",)) -> str:
    """Sorted non-empty k=v joined with & (AlipaySignature.getSignContent / getSignCheckContentV1)."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in drop and v not in (None, ""))


def rsa2_sign(key: Any, text: str) -> str:
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_ok(public: Any, text: str, sign: str) -> bool:
    try:
        public.verify(base64.b64decode(sign), text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


class FakeAlipay(FakeAlipayMethods, FakeGateway):
    """Alipay's gateway for one merchant app; `cert_mode` answers as a certificate-mode app is answered."""

    def __init__(self, app_id: str = "2021000000000001", cert_mode: bool = False) -> None:
        self.app_id, self.cert_mode = app_id, cert_mode
        self.seller_id, self.service_id, self.op_app_id = "2088000000009999", "2020050722001440031", ""
        self.merchant_key, self.alipay_key = new_key(), new_key()
        self.certs = CertSet(self.merchant_key, self.alipay_key, new_key()) if cert_mode else None
        self.violations: list[str] = []
        self.down: set[str] = set()
        self.lost: dict[str, int] = {}
        self.forced: dict[str, list[dict]] = {}
        self.init_state()
        super().__init__()

    def env(self) -> dict[str, str]:
        env = {
            "CREDITFIRST_ALIPAY_APP_ID": self.app_id,
            "CREDITFIRST_ALIPAY_GATEWAY": f"{self.url}/gateway.do",
            "CREDITFIRST_ALIPAY_PRIVATE_KEY": private_pem(self.merchant_key),
            "CREDITFIRST_ALIPAY_NOTIFY_URL": "https://example.test/v1/callbacks/alipay",
            "CREDITFIRST_ALIPAY_SELLER_ID": self.seller_id,
            "CREDITFIRST_ALIPAY_SERVICE_ID": self.service_id,
        }
        if self.op_app_id:
            env["CREDITFIRST_ALIPAY_OP_APP_ID"] = self.op_app_id
        if self.certs:
            return {**env, **self.certs.env()}
        return {**env, "CREDITFIRST_ALIPAY_PUBLIC_KEY": public_b64(self.alipay_key)}

    def violate(self, text: str) -> None:
        self.violations.append(text)

    # -- the gateway -------------------------------------------------------------------------
    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        if method == "GET" and path.startswith("/bill/"):  # a bill_download_url (bill_url)
            token = path.removeprefix("/bill/")
            if token not in self.bill_files:
                return 404, {"Content-Type": "text/plain"}, b"no such bill"
            return 200, {"Content-Type": "application/oct-stream"}, self.bill_files.pop(token)  # one download
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        params = dict(pairs)
        self.calls.append(params)
        name = params.get("method", "")
        self.now_text = params.get("timestamp") or self.now_text
        if name in self.down:
            return 503, {"Content-Type": "text/html"}, b"service unavailable"
        node = self.common_error(params)
        if node is None and self.forced.get(name):
            node = self.forced[name].pop(0)
        if node is None:
            node = self.handle(name, params)
        if self.lost.get(name):
            self.lost[name] -= 1
            return 504, {"Content-Type": "text/html"}, b"gateway timeout"
        return self.respond(name, node)

    def common_error(self, params: dict[str, str]) -> dict | None:
        """The gateway's own checks (公共请求参数 + 公共错误码), before any method runs."""

        def error(code: str, sub_code: str, why: str) -> dict:
            self.violate(f"{params.get('method')}: {why}")
            return {"code": code, "msg": GATEWAY_ERROR[code], "sub_code": sub_code, "sub_msg": why}

        for field, sub_code in (
            ("method", "isv.missing-method"),
            ("sign", "isv.missing-signature"),
            ("sign_type", "isv.missing-signature-type"),
            ("app_id", "isv.missing-app-id"),
            ("timestamp", "isv.missing-timestamp"),
            ("version", "isv.missing-version"),
        ):
            if not params.get(field):
                return error("40001", sub_code, f"missing {field}")
        if params["method"] not in KNOWN:
            return error("40002", "isv.invalid-method", f"unknown method {params['method']}")
        if params["method"] in ORDER_STRINGS:
            return error("40002", "isv.invalid-method", "an app-side order string sent to the gateway")
        if params["app_id"] != self.app_id:
            return error("40002", "isv.invalid-app-id", "another app")
        if params["sign_type"] != "RSA2":
            return error("40002", "isv.invalid-signature-type", "sign_type must be RSA2")
        if not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", params["timestamp"]):
            return error("40002", "isv.invalid-timestamp", "timestamp must be yyyy-MM-dd HH:mm:ss")
        if (
            params["version"] != "1.0"
            or params.get("charset", "utf-8").lower() != "utf-8"
            or params.get("format", "JSON").upper() != "JSON"
        ):
            return error("40002", "isv.invalid-parameter", "version 1.0, charset utf-8, format JSON")
        cert_problem = self.cert_problem(params)
        if cert_problem:
            return error("40002", "isv.invalid-parameter", cert_problem)
        if not self.signed_by_merchant(params):
            return error("40002", "isv.invalid-signature", "bad RSA2 signature")
        return None

    def cert_problem(self, params: dict[str, str]) -> str | None:
        sent = (params.get("app_cert_sn"), params.get("alipay_root_cert_sn"))
        if not self.certs:
            return "certificate serial numbers sent by a key-mode app" if any(sent) else None
        if sent != (self.certs.app_cert_sn, self.certs.alipay_root_cert_sn):
            return f"app_cert_sn/alipay_root_cert_sn {sent} do not match the app's certificates"
        return None

    def signed_by_merchant(self, params: dict[str, str]) -> bool:
        return rsa2_ok(self.merchant_key.public_key(), sign_content(params), params.get("sign", ""))

    def handle(self, name: str, params: dict[str, str]) -> dict:
        if name == "alipay.system.oauth.token":
            return self.oauth(params)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            self.violate(f"{name}: biz_content is not JSON")
            return {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-format"}
        problems, error = check(name, biz)
        self.violations.extend(problems)
        return error or self.handlers[name](params, biz)

    def respond(self, method: str, node: dict) -> tuple[int, dict, bytes]:
        text = json.dumps(node, ensure_ascii=False)
        unnamed = node.get("sub_code") in ("isv.invalid-method", "isv.missing-method", "isv.code-invalid")
        name = "error_response" if unnamed else method.replace(".", "_") + "_response"
        out = {name: "@NODE@", "sign": rsa2_sign(self.alipay_key, text)}
        if self.certs:
            out["alipay_cert_sn"] = self.certs.alipay_cert_sn
        raw = json.dumps(out, ensure_ascii=False).replace('"@NODE@"', text)
        return 200, {"Content-Type": "text/html;charset=utf-8"}, raw.encode()

    # -- the app side: order strings the mini-program opens, notifications ---------------------
    def open_order_string(self, order_str: str, method: str) -> dict:
        """What Alipay checks when the mini-program opens a signed order string (my.tradePay)."""
        params = dict(parse_qsl(order_str, keep_blank_values=True))
        if params.get("method") != method:
            self.violate(f"order string for {params.get('method')}, expected {method}")
        problem = self.cert_problem(params)
        if problem:
            self.violate(f"{method} order string: {problem}")
        if not self.signed_by_merchant(params) or params.get("app_id") != self.app_id:
            self.violate(f"{method} order string: not signed by the merchant app")
        biz = json.loads(params["biz_content"])
        problems, error = check(method, biz)
        self.violations.extend(problems + ([error["sub_msg"]] if error else []))
        return biz

    def notification(self, **fields: str) -> dict[str, str]:
        """A signed asynchronous notification (sign over the sorted non-empty fields but sign and sign_type)."""
        params = {
            "notify_id": f"ntf{len(self.calls)}x{len(self.violations)}{fields.get('out_request_no', '')}",
            "notify_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": self.app_id,
            "sign_type": "RSA2",
            **fields,
        }
        params["sign"] = rsa2_sign(self.alipay_key, sign_content(params, ("sign", "sign_type")))
        return params

    def bizs(self, method: str) -> list[dict]:
        """The biz_content of every call of one method, parsed."""
        return [json.loads(c.get("biz_content") or "{}") for c in self.calls if c.get("method") == method]

    def methods(self) -> list[str]:
        return [c.get("method", "") for c in self.calls]
