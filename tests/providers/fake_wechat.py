"""A strict local WeChat Pay (APIv3, Pay Score 需确认模式) written from the references (rule table with sources
in fake_wechat_rules.py), never from our adapter: it checks every request's WECHATPAY2-SHA256-RSA2048
Authorization, the Wechatpay-Serial we accept and every body; refuses with WeChat's error shape
({"code", "message"}, real HTTP statuses) and RECORDS each broken rule in `violations`; signs answers with a
platform certificate (certificate mode, rotatable, served by GET /v3/certificates encrypted with the APIv3 key)
or the PUB_KEY_ID_ public key; sends AEAD_AES_256_GCM notifications signed like WeChat's; and checks the
mini-program's signed Pay Score parameters as the WeChat client would. Failure injection: `down` (503),
`forced` answers, `throttle` (429 FREQUENCY_LIMITED)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from tests.providers.fake_wechat_money import MoneyEndpoints
from tests.providers.fake_wechat_orders import PayScoreEndpoints, beijing, epoch, rfc3339
from tests.providers.fake_wechat_payscore_bill import PayScoreBillEndpoints
from tests.providers.fake_wechat_rules import Refusal, param_error
from tests.providers.fakes import FakeGateway, new_key, private_pem, public_pem

DEPOSIT_SERVICE, PAY_LATER_SERVICE = "2002000000000558128851361561536", "2002000000000558128851361561537"
ORDER_ACTION = re.compile(r"^/v3/payscore/serviceorder/([^/]+)/(complete|modify|cancel|pay|sync)$")
PACKAGE_SECONDS = 3600  # DOC applets-confirm / PL ServiceOrderResponse: 该数据一小时内有效
VALID_FROM, VALID_TO = datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2045, 1, 1, tzinfo=timezone.utc)


def _sign(key: Any, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def platform_certificate(issued: int = 0) -> dict:
    """A self-signed platform certificate (WeChat's are issued by Tenpay's CA; the SDKs do not check the chain:
    JAVA RSACertificateHandler.validateCertPath is empty)."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com fake platform")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM + timedelta(days=issued))
        .not_valid_after(VALID_TO)
        .sign(key, hashes.SHA256())
    )
    return {
        "serial": format(cert.serial_number, "X"),
        "key": key,
        "from": VALID_FROM + timedelta(days=issued),
        "pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


class FakeWechat(PayScoreEndpoints, MoneyEndpoints, PayScoreBillEndpoints, FakeGateway):
    """WeChat Pay's v3 gateway and its users; `mode` is "public_key" (PUB_KEY_ID_) or "certificate"."""

    def __init__(
        self, mode: str = "public_key", apiv3_key: str = "0123456789abcdef0123456789abcdef", risk_limit: int = 2_000_000
    ) -> None:
        assert mode in ("public_key", "certificate")
        self.mode, self.apiv3_key, self.apiv2_key = mode, apiv3_key, "a" * 16 + "APIv2key" + "b" * 8
        self.mch_id, self.appid, self.app_secret = "1900000001", "wxd678efh567hg6787", "s3cret"
        self.merchant_key, self.merchant_serial = new_key(), "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
        self.public_key, self.public_key_id = new_key(), "PUB_KEY_ID_0114232134912410000000000000"
        self.certs = [platform_certificate()]
        self.services = {
            DEPOSIT_SERVICE: {"mode": "deposit", "limit": risk_limit},
            PAY_LATER_SERVICE: {"mode": "paylater", "limit": risk_limit},
        }
        self.orders: dict[str, dict] = {}
        self.packages: dict[str, dict] = {}
        self.consents: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.refunds: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.trades: dict[str, dict] = {}
        self.bill_files: dict[str, bytes] = {}  # download token -> the bill file (served gzipped, once)
        self.service_bill_files: dict[str, bytes] = {}  # download token -> a Pay Score bill part (encrypted, once)
        self.service_bill_parts = 1
        self.collection_requests: list[str] = []
        self.access_token: str | None = None  # the one valid token: a new one invalidates the previous
        self.subscribed: dict[str, set[str]] = {}  # openid -> template ids the user accepted (one message each)
        self.messages: list[dict] = []  # subscribe messages delivered
        self.violations: list[dict] = []
        self.outbox: list[tuple[dict, bytes]] = []
        self.refused_by_client: list[str] = []  # params the WeChat client would not open (stale or bad)
        self.down: set[str] = set()  # path suffixes answered 503 SYSTEM_ERROR
        self.forced: dict[str, tuple[int, dict]] = {}  # path suffix -> the answer to give instead
        self.throttle = 0  # the next N v3 requests are answered 429 FREQUENCY_LIMITED
        self.pays_on_request = False  # /pay collects at once
        self.refunds_settle_at_once = False
        self.now: Callable[[], int] = lambda: int(time.time())
        self._events = 0
        self._lock = threading.RLock()
        super().__init__()

    def env(self) -> dict[str, str]:
        keys = (
            {
                "CREDITFIRST_WECHAT_PUBLIC_KEY": public_pem(self.public_key),
                "CREDITFIRST_WECHAT_PUBLIC_KEY_ID": self.public_key_id,
            }
            if self.mode == "public_key"
            else {"CREDITFIRST_WECHAT_PLATFORM_CERTS": self.certs[0]["pem"]}
        )
        return {
            "CREDITFIRST_WECHAT_MCH_ID": self.mch_id,
            "CREDITFIRST_WECHAT_APPID": self.appid,
            "CREDITFIRST_WECHAT_APP_SECRET": self.app_secret,
            "CREDITFIRST_WECHAT_PRIVATE_KEY": private_pem(self.merchant_key),
            "CREDITFIRST_WECHAT_CERT_SERIAL": self.merchant_serial,
            "CREDITFIRST_WECHAT_APIV3_KEY": self.apiv3_key,
            "CREDITFIRST_WECHAT_APIV2_KEY": self.apiv2_key,
            "CREDITFIRST_WECHAT_SERVICE_ID_DEPOSIT": DEPOSIT_SERVICE,
            "CREDITFIRST_WECHAT_SERVICE_ID_PAY_LATER": PAY_LATER_SERVICE,
            "CREDITFIRST_WECHAT_GATEWAY": self.url,
            "CREDITFIRST_WECHAT_LOGIN_GATEWAY": self.url,
            "CREDITFIRST_WECHAT_NOTIFY_URL": "https://example.test/v1/callbacks/wechat",
            **keys,
        }

    def violate(self, rule: str, detail: str, path: str = "") -> None:
        self.violations.append({"rule": rule, "path": path, "detail": detail})

    # -- transport -----------------------------------------------------------------------------
    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            split, lower = urlsplit(path), {k.lower(): v for k, v in headers.items()}
            query = dict(parse_qsl(split.query, keep_blank_values=True))
            self.calls.append(
                {"method": method, "path": split.path, "query": query, "headers": lower, "body": _json(body)}
            )
            if split.path == "/sns/jscode2session":
                return self._login(query)
            if split.path in ("/cgi-bin/token", "/cgi-bin/message/subscribe/send"):
                return self.mini_program_api(method, split.path, query, body)
            if any(split.path.endswith(s) for s in self.down):
                return 503, {"Content-Type": "application/json"}, b'{"code":"SYSTEM_ERROR","message":"busy"}'
            serial = self._accepted_serial(lower, split.path)
            if self.throttle > 0:
                self.throttle -= 1
                return self._signed(429, {"code": "FREQUENCY_LIMITED", "message": "频率超限"}, serial)
            forced = next((v for k, v in self.forced.items() if split.path.endswith(k)), None)
            if forced:
                return self._signed(forced[0], forced[1], serial)
            if method == "GET" and split.path == "/v3/billdownload/file":  # BILL_DOWNLOAD: the file, unsigned
                return self._bill_file(method, path, lower, body, query.get("token", ""))
            if method == "GET" and split.path == "/v3/payscore/bill/downloadurl":  # PAYSCORE_BILL_DOWNLOAD
                return self._bill_file(method, path, lower, body, query.get("token", ""), encrypted=True)
            try:
                self._check_request(method, path, lower, body)
                status, out = self.route(method, split.path, query, body)
            except Refusal as refusal:
                if refusal.rule:
                    self.violate(refusal.rule, refusal.message, split.path)
                status, out = refusal.status, {"code": refusal.code, "message": refusal.message}
            except Exception as exc:  # noqa: BLE001 - a bug of the fake itself must fail the test, not hang it
                self.violate("FAKE_BUG", repr(exc), split.path)
                status, out = 500, {"code": "SYSTEM_ERROR", "message": repr(exc)}
            return self._signed(status, out, serial)

    def _bill_file(
        self, method: str, path: str, lower: dict, body: bytes, token: str, encrypted: bool = False
    ) -> tuple[int, dict, bytes]:
        import gzip

        try:
            self._check_request(method, path, lower, body)
        except Refusal as refusal:
            self.violate("PAYSCORE_BILL_DOWNLOAD" if encrypted else "BILL_DOWNLOAD", refusal.message, path)
            return self._signed(refusal.status, {"code": refusal.code, "message": refusal.message}, None)
        files = self.service_bill_files if encrypted else self.bill_files
        if token not in files:
            return self._signed(400, {"code": "INVALID_REQUEST", "message": "下载地址已失效"}, None)
        raw = files.pop(token)
        return 200, {"Content-Type": "application/octet-stream"}, raw if encrypted else gzip.compress(raw)

    def _check_request(self, method: str, path: str, lower: dict, body: bytes) -> None:
        if (
            "application/json" not in lower.get("accept", "")
            or not lower.get("user-agent")
            or body
            and "application/json" not in lower.get("content-type", "")
        ):
            self.violate("HEADERS", f"Accept/User-Agent/Content-Type on {method}", path)
        fields = dict(re.findall(r'(\w+)="([^"]*)"', lower.get("authorization", "")))
        scheme = lower.get("authorization", "").split(" ", 1)[0]
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body.decode()}\n"
        try:
            good = (
                scheme == "WECHATPAY2-SHA256-RSA2048"
                and fields.get("mchid") == self.mch_id
                and fields.get("serial_no") == self.merchant_serial
                and self.merchant_key.public_key().verify(
                    base64.b64decode(fields.get("signature", "")), message.encode(), padding.PKCS1v15(), hashes.SHA256()
                )
                is None
            )
        except Exception:  # noqa: BLE001 - any malformed header is simply unsigned
            good = False
        if not good:
            raise Refusal(401, "SIGN_ERROR", "签名错误", "AUTH")
        if not fields.get("timestamp", "").isdigit() or abs(int(fields["timestamp"]) - self.now()) > 300:
            raise Refusal(401, "SIGN_ERROR", "timestamp outside 5 minutes", "AUTH_TIME")

    def _accepted_serial(self, lower: dict, path: str) -> str | None:
        serial = lower.get("wechatpay-serial")
        known = {self.public_key_id} if self.mode == "public_key" else {c["serial"] for c in self.certs}
        if serial not in known:
            self.violate("SERIAL", f"Wechatpay-Serial {serial!r} is not a key the merchant can verify", path)
            return None
        return serial

    def _signer(self, serial: str | None) -> tuple[str, Any]:
        if self.mode == "public_key":
            return self.public_key_id, self.public_key
        cert = next((c for c in self.certs if c["serial"] == serial), self.certs[-1])
        return cert["serial"], cert["key"]

    def signed_headers(self, raw: bytes, serial: str | None = None, ts: int | None = None) -> dict[str, str]:
        name, key = self._signer(serial)
        ts, nonce = self.now() if ts is None else ts, f"n{self._events}{len(self.calls)}x"
        return {
            "Wechatpay-Timestamp": str(ts),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": name,
            "Wechatpay-Signature": _sign(key, f"{ts}\n{nonce}\n".encode() + raw + b"\n"),
            "Request-ID": f"req-{len(self.calls)}",
        }

    def _signed(self, status: int, out: dict, serial: str | None) -> tuple[int, dict, bytes]:
        raw = json.dumps(out, ensure_ascii=False).encode()
        return status, {"Content-Type": "application/json", **self.signed_headers(raw, serial)}, raw

    def route(self, method: str, path: str, query: dict, raw: bytes) -> tuple[int, dict]:
        body = _json(raw) if raw else {}
        if not isinstance(body, dict):
            raise param_error("FIELDS", "the body is not a JSON object")
        action = ORDER_ACTION.match(path)
        if method == "POST" and action:
            return getattr(self, f"{action.group(2)}_order")(action.group(1), body)
        routes = {
            ("POST", "/v3/payscore/serviceorder"): self.create_order,
            ("GET", "/v3/payscore/serviceorder"): self.query_order,
            ("POST", "/v3/payscore/permissions"): self.create_permission,
            ("POST", "/v3/refund/domestic/refunds"): self.create_refund,
            ("POST", "/v3/pay/transactions/jsapi"): self.create_jsapi,
            ("GET", "/v3/bill/tradebill"): self.trade_bill,
            ("GET", "/v3/payscore/merchant-bill"): self.merchant_bill,
            ("GET", "/v3/certificates"): self.certificates,
        }
        if (method, path) in routes:
            return routes[(method, path)](query, body)
        for prefix, handler in (
            ("/v3/payscore/permissions/authorization-code/", self.query_permission),
            ("/v3/refund/domestic/refunds/", self.query_refund),
            ("/v3/pay/transactions/out-trade-no/", self.query_trade),
        ):
            if method == "GET" and path.startswith(prefix) and "/" not in path[len(prefix) :]:
                return handler(path[len(prefix) :], query)
        raise Refusal(404, "NOT_FOUND", f"no such API: {method} {path}", "ENDPOINT")

    def _login(self, query: dict) -> tuple[int, dict, bytes]:
        """code2Session (developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html)."""
        if (query.get("appid"), query.get("secret"), query.get("grant_type")) != (
            self.appid,
            self.app_secret,
            "authorization_code",
        ) or not query.get("js_code"):
            self.violate("FIELDS", "code2Session needs appid, secret, js_code, grant_type", "/sns/jscode2session")
            out: dict = {"errcode": 40013, "errmsg": "invalid appid"}
        elif query["js_code"] == "bad":
            out = {"errcode": 40029, "errmsg": "invalid code"}
        else:
            out = {"openid": f"o-{query['js_code']}", "session_key": "k"}
        return 200, {"Content-Type": "application/json"}, json.dumps(out).encode()

    # -- the mini-program server API: access_token and subscribe messages ---------------------------
    def mini_program_api(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, dict, bytes]:
        """getAccessToken (developers.weixin.qq.com/miniprogram/dev/api-backend/auth/auth.getAccessToken.html)
        and subscribeMessage.send (.../OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html)."""
        if path == "/cgi-bin/token":
            if method != "GET" or query.get("grant_type") != "client_credential":
                self.violate("FIELDS", "getAccessToken: GET with grant_type client_credential", path)
                out: dict = {"errcode": 40002, "errmsg": "invalid grant_type"}
            elif (query.get("appid"), query.get("secret")) != (self.appid, self.app_secret):
                self.violate("FIELDS", "getAccessToken: the app's appid and secret", path)
                out = {"errcode": 40013, "errmsg": "invalid appid"}
            else:
                self.access_token = f"AT{secrets.token_hex(16)}"
                out = {"access_token": self.access_token, "expires_in": 7200}
            return 200, {"Content-Type": "application/json"}, json.dumps(out).encode()
        out = self._subscribe_send(method, query, _json(body), path)
        return 200, {"Content-Type": "application/json"}, json.dumps(out).encode()

    def _subscribe_send(self, method: str, query: dict, msg: Any, path: str) -> dict:
        if method != "POST" or not isinstance(msg, dict):
            self.violate("FIELDS", "subscribeMessage.send is a POST of a JSON object", path)
            return {"errcode": 47001, "errmsg": "data format error"}
        if not self.access_token or query.get("access_token") != self.access_token:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        unknown = set(msg) - {"touser", "template_id", "page", "data", "miniprogram_state", "lang"}
        data = msg.get("data")
        if (
            unknown
            or not msg.get("touser")
            or not msg.get("template_id")
            or not isinstance(data, dict)
            or not data
            or not all(
                isinstance(v, dict) and set(v) == {"value"} and isinstance(v["value"], str) for v in data.values()
            )
        ):
            self.violate("FIELDS", f"subscribeMessage.send fields: {sorted(msg)}", path)
            return {"errcode": 47003, "errmsg": "argument invalid! data.thing1.value invalid"}
        if msg.get("miniprogram_state", "formal") not in ("developer", "trial", "formal") or msg.get(
            "lang", "zh_CN"
        ) not in ("zh_CN", "en_US", "zh_HK", "zh_TW"):
            self.violate("FIELDS", "miniprogram_state or lang out of range", path)
            return {"errcode": 47003, "errmsg": "argument invalid"}
        for key, value in data.items():
            if key.startswith("thing") and len(value["value"]) > 20:
                self.violate("FIELDS", f"{key}: thing values hold at most 20 characters", path)
        accepted = self.subscribed.get(msg["touser"], set())
        if msg["template_id"] not in accepted:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        accepted.discard(msg["template_id"])  # a one-time subscription is used by one message
        self.messages.append(msg)
        return {"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942 + len(self.messages)}

    # -- platform certificates ---------------------------------------------------------------------
    def certificates(self, query: dict, body: dict) -> tuple[int, dict]:
        """GO services/certificates/models.go; JAVA CertificateDownloader (NOT_FOUND: public-key mode)."""
        if self.mode == "public_key":
            raise Refusal(404, "NOT_FOUND", "无可用的平台证书")
        data = []
        for cert in self.certs:
            nonce = f"c{cert['serial'][:11]}"
            sealed = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), cert["pem"].encode(), b"certificate")
            data.append(
                {
                    "serial_no": cert["serial"],
                    "effective_time": cert["from"].isoformat(),
                    "expire_time": VALID_TO.isoformat(),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": base64.b64encode(sealed).decode(),
                    },
                }
            )
        return 200, {"data": data}

    def rotate(self) -> dict:
        """WeChat issues a new platform certificate and signs with it from now on (the old one stays listed)."""
        self.certs.append(platform_certificate(issued=len(self.certs)))
        return self.certs[-1]

    # -- notifications -------------------------------------------------------------------------------
    def notify(self, event_type: str, resource: dict, original_type: str, summary: str = "") -> tuple[dict, bytes]:
        """An AEAD_AES_256_GCM notification signed like WeChat's; kept in `outbox` until delivered."""
        self._events += 1
        nonce, associated = f"nonce{self._events:07d}", original_type
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), json.dumps(resource).encode(), associated.encode()
        )
        body = json.dumps(
            {
                "id": f"EV-{self._events:06d}-{event_type}",
                "create_time": rfc3339(self.now()),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": {
                    "original_type": original_type,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(sealed).decode(),
                    "associated_data": associated,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode()
        signed = (self.signed_headers(body), body)
        self.outbox.append(signed)
        return signed

    def deliver(self, client: Any) -> list[int]:
        """POST every pending notification to our callback route, as WeChat would; returns the statuses."""
        pending, self.outbox = self.outbox, []
        return [
            client.http.post(
                "/v1/callbacks/wechat", headers={"Content-Type": "application/json", **h}, body=b
            ).status_code
            for h, b in pending
        ]

    # -- the user, in the mini-program ---------------------------------------------------------------
    def user_opens_service(self, params: dict, openid: str) -> tuple[dict, bytes] | None:
        """wx.openBusinessView wxpayScoreEnable with the apply_permissions_token (valid one hour)."""
        extra = params.get("extraData") or {}
        code = self.tokens.get(extra.get("apply_permissions_token", ""))
        if (
            params.get("businessType") != "wxpayScoreEnable"
            or code is None
            or set(extra) != {"apply_permissions_token"}
        ):
            self.violate("PERMISSION", f"the client cannot open {params!r}")
            return None
        consent = self.consents[code]
        consent.update(state="AVAILABLE", openid=openid)
        return self.notify(
            "PAYSCORE.USER_OPEN_SERVICE",
            self._service_resource(code, "USER_OPEN_SERVICE"),
            "payscore",
            summary="签约成功",
        )

    def user_closes_service(self, openid: str) -> tuple[dict, bytes]:
        """The user closes the merchant's Pay Score service in WeChat."""
        code = next(c for c, v in self.consents.items() if v["openid"] == openid and v["state"] == "AVAILABLE")
        self.consents[code]["state"] = "UNAVAILABLE"
        return self.notify(
            "PAYSCORE.USER_CLOSE_SERVICE",
            self._service_resource(code, "USER_CLOSE_SERVICE"),
            "payscore",
            summary="解约成功",
        )

    def _service_resource(self, code: str, status: str) -> dict:
        """PL Notify/WeChatPayScoreUserOpenOrCloseNotify.cs."""
        consent = self.consents[code]
        return {
            "appid": self.appid,
            "mchid": self.mch_id,
            "service_id": consent["service_id"],
            "openid": consent["openid"],
            "user_service_status": status,
            "openorclose_time": beijing(self.now()),
            "authorization_code": code,
        }

    def check_use_params(self, params: dict) -> dict | None:
        """What the WeChat client checks before it shows the order: shape, HMAC-SHA256 sign, package age."""
        extra = params.get("extraData")
        want = {"mch_id", "package", "timestamp", "nonce_str", "sign_type", "sign"}
        if params.get("businessType") != "wxpayScoreUse" or not isinstance(extra, dict) or set(extra) != want:
            self.violate("PACKAGE", f"wxpayScoreUse params malformed: {params!r}")
            return None
        text = "&".join(f"{k}={extra[k]}" for k in sorted(want - {"sign"}))
        sign = (
            hmac.new(self.apiv2_key.encode(), f"{text}&key={self.apiv2_key}".encode(), hashlib.sha256)
            .hexdigest()
            .upper()
        )
        if (
            extra["sign_type"] != "HMAC-SHA256"
            or not hmac.compare_digest(sign, str(extra["sign"]))
            or extra["mch_id"] != self.mch_id
            or not re.fullmatch(r"[0-9A-Za-z]{1,32}", str(extra["nonce_str"]))
        ):
            self.violate("PACKAGE", "wxpayScoreUse sign, mch_id or nonce_str wrong")
            return None
        issued = self.packages.get(extra["package"])
        if issued is None or self.now() - issued["issued_at"] > PACKAGE_SECONDS:
            self.refused_by_client.append(extra["package"])  # the user sees "订单已过期"; not our rule break
            return None
        return self.orders[issued["out_order_no"]]

    def user_confirms(self, params: dict, openid: str) -> tuple[dict, bytes] | None:
        """The user opens the params and confirms the order: DOING/USER_CONFIRM + PAYSCORE.USER_CONFIRM."""
        order = self.check_use_params(params)
        if order is None or order["state"] != "CREATED":
            return None
        started = order["time_range"]["start_time"]
        order.update(
            state="DOING",
            state_description="USER_CONFIRM",
            openid=openid,
            query_id=f"Q{order['order_id']}",
            started_at=self.now() if started == "OnAccept" else epoch(started),
        )
        return self.notify(
            "PAYSCORE.USER_CONFIRM", {**self.view(order), "openid": openid}, "payscore", summary="用户确认订单"
        )


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
