"""One signed WeChat Pay APIv3 call: Authorization, the Wechatpay-Serial we can verify, the answer verified
before it is read, and 429/FREQUENCY_LIMITED retried with a short bounded backoff (then ProviderError: a
throttled call did nothing, so it is never recorded as a refusal).

References: wechatpay-apiv3/wechatpay-go core/client.go (doRequest: Accept, Content-Type, User-Agent,
Authorization, Wechatpay-Serial = the serial the validator can verify; answers validated), core/consts/const.go,
services/refunddomestic/api_refunds.go (FREQUENCY_LIMITED: 该笔退款未受理，请降低频率后重试).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Callable

from ..domain.errors import InvalidSignature, ProviderError
from . import wechat_format as fmt
from .transport import HttpResponse

BACKOFF_SECONDS = (0.5, 1.5)  # three tries in all, at most 2 s of waiting inside one Lambda call


class V3Client:
    """Signed v3 requests for one provider instance (its settings, clock, keys and transport)."""

    def __init__(self, provider: Any, send: Callable[..., HttpResponse]) -> None:
        self.provider = provider
        self.send = send
        self.sleep: Callable[[float], None] = time.sleep

    def raw(self, method: str, path: str, body: dict | None = None) -> tuple[HttpResponse, str]:
        """Send one signed request (retrying 429); the answer is not verified yet. Returns it and the body text."""
        p = self.provider
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        for attempt in range(len(BACKOFF_SECONDS) + 1):
            ts, nonce = str(int(p.deps.clock.now().timestamp())), secrets.token_hex(16)
            auth = fmt.authorization(
                p.settings.wechat_mch_id, p.settings.wechat_cert_serial, p.merchant_key(), method, path, ts, nonce, text
            )
            headers = {
                "Authorization": auth,
                "Accept": "application/json",
                "User-Agent": "creditfirst/1 (python)",
                "Wechatpay-Serial": p.keys.accept_serial(),
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            resp = self.send(
                method,
                p.settings.wechat_gateway.rstrip("/") + path,
                text.encode("utf-8") if body is not None else None,
                headers,
            )
            if not _throttled(resp):
                return resp, text
            if attempt < len(BACKOFF_SECONDS):
                self.sleep(BACKOFF_SECONDS[attempt])
        raise ProviderError(f"wechat pay {method} {path.split('?')[0]} throttled (FREQUENCY_LIMITED); try later")

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """One signed call; (status, answer). 5xx/401/unsigned success/unreadable -> ProviderError."""
        resp, _ = self.raw(method, path, body)
        if resp.status >= 500 or resp.status == 401:  # 401: our signature or config, never the user's fault
            raise ProviderError(f"wechat pay {method} {path.split('?')[0]} answered HTTP {resp.status}")
        # A success must be signed; an error is checked when it carries a signature (WeChat's SDKs read
        # unsigned errors as plain errors). An error only ever refuses: it never moves money.
        if resp.status < 300 or "wechatpay-signature" in resp.headers:
            self.verify(resp)
        try:
            return resp.status, json.loads(resp.body) if resp.body.strip() else {}
        except ValueError as exc:
            raise ProviderError(f"wechat pay {method}: unreadable answer") from exc

    def verify(self, resp: HttpResponse, extra: dict[str, Any] | None = None) -> None:
        p = self.provider
        try:
            fmt.verify_signed(resp.headers, resp.body, p.keys.lookup(resp.headers, extra), p.deps.clock.now())
        except InvalidSignature as exc:
            raise ProviderError(f"wechat pay answer not trusted: {exc.message}") from exc


def _throttled(resp: HttpResponse) -> bool:
    if resp.status == 429:
        return True
    if resp.status < 400:
        return False
    try:
        return json.loads(resp.body or b"{}").get("code") == "FREQUENCY_LIMITED"
    except (ValueError, AttributeError):
        return False
