"""The Alipay OpenAPI gateway client: common parameters, RSA2 request signatures, signed answers checked
before anything in them is believed. Key mode (bare Alipay public key) or certificate mode (app_cert_sn +
alipay_root_cert_sn sent, answers verified with the certificate named by alipay_cert_sn).

Common parameters (app_id, method, format, charset, sign_type, timestamp, version, notify_url, biz_content;
cert mode adds app_cert_sn, alipay_root_cert_sn): alipay-sdk-python-all alipay/aop/api/constant/ParamConstants.py
and DefaultAlipayClient.py __get_common_params; sign content = every non-empty parameter but `sign`, sorted,
k=v joined by & (alipay-sdk-java-all internal/util/AlipaySignature.java getSignContent).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from ..domain.errors import ProviderError, ProviderNotConfigured
from . import alipay_cert, keys, transport
from . import alipay_format as fmt

OK = "10000"
BUSINESS_FAILURE = "40004"
INVALID_ARGUMENTS = "40002"


class AlipayClient:
    """One merchant app's gateway; keys are read from settings once per container."""

    def __init__(self, settings: Any, clock: Any, send: Any = None) -> None:
        self.settings = settings
        self.clock = clock
        self._send = send or transport.send
        self._keys: dict | None = None

    @property
    def cert_mode(self) -> bool:
        s = self.settings
        return bool(s.alipay_app_cert and s.alipay_public_cert and s.alipay_root_cert)

    def keys(self) -> dict:
        """private (None: verify-only), alipay (the key answers and notifications are checked with) and, in
        certificate mode, the serial numbers sent and expected."""
        if self._keys is None:
            s = self.settings
            private = keys.load_private_key(s.alipay_private_key) if s.alipay_private_key else None
            if self.cert_mode:
                self._keys = {
                    "private": private,
                    "alipay": alipay_cert.public_key(s.alipay_public_cert),
                    "app_cert_sn": alipay_cert.cert_sn(s.alipay_app_cert),
                    "alipay_root_cert_sn": alipay_cert.root_cert_sn(s.alipay_root_cert),
                    "alipay_cert_sn": alipay_cert.cert_sn(s.alipay_public_cert),
                }
            elif s.alipay_public_key:
                self._keys = {"private": private, "alipay": keys.load_public_key(s.alipay_public_key)}
            else:
                raise ProviderNotConfigured(
                    "alipay is not configured (CREDITFIRST_ALIPAY_PUBLIC_KEY or the "
                    "three CREDITFIRST_ALIPAY_*_CERT certificates)"
                )
        return self._keys

    def signed_params(self, method: str, biz: dict | None = None, **top: str) -> dict[str, str]:
        """Common parameters + biz_content, RSA2-signed (SHA256withRSA) with the merchant's private key."""
        k = self.keys()
        if k["private"] is None:
            raise ProviderNotConfigured("alipay is not configured (CREDITFIRST_ALIPAY_PRIVATE_KEY)")
        params = {
            "app_id": self.settings.alipay_app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": fmt.beijing_time(self.clock.now()),
            "version": "1.0",
            "app_cert_sn": k.get("app_cert_sn"),
            "alipay_root_cert_sn": k.get("alipay_root_cert_sn"),
            **top,
        }
        if biz is not None:
            biz = {name: value for name, value in biz.items() if value is not None}
            params["biz_content"] = json.dumps(biz, ensure_ascii=False, separators=(",", ":"))
        params = {name: value for name, value in params.items() if value not in (None, "")}
        params["sign"] = keys.sign(k["private"], fmt.request_sign_content(params).encode("utf-8"))
        return params

    def order_string(self, method: str, biz: dict, **top: str) -> str:
        """A signed request the mini-program opens itself (my.tradePay orderStr); nothing is sent from here."""
        return urlencode(sorted(self.signed_params(method, biz, **top).items()))

    def call(
        self, method: str, biz: dict | None = None, accept: tuple[str, ...] = (OK, BUSINESS_FAILURE), **top: str
    ) -> dict:
        """One OpenAPI call: the verified answer node (a code in `accept`), else ProviderError (ask again later)."""
        body = urlencode(self.signed_params(method, biz, **top)).encode("utf-8")
        resp = self._send(
            "POST",
            self.settings.alipay_gateway,
            body,
            {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
        )
        if resp.status != 200:
            raise ProviderError(f"alipay {method} answered HTTP {resp.status}")
        try:
            node, source, sign, cert_sn = fmt.signed_node(resp.body, method)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderError(f"alipay {method}: unreadable answer") from exc
        k = self.keys()
        if self.cert_mode and cert_sn != k["alipay_cert_sn"]:
            # Alipay rotated its certificate (or the answer is not Alipay's): the merchant must configure the
            # new alipayCertPublicKey; an answer signed by an unknown certificate is never believed.
            raise ProviderError(f"alipay {method}: answer signed by certificate {cert_sn!r}, not the configured one")
        if sign is None or not keys.verify(k["alipay"], source.encode("utf-8"), sign):
            raise ProviderError(f"alipay {method}: answer not signed by Alipay ({node.get('code')})")
        if "code" not in node and "sub_code" not in node:
            node["code"] = OK  # alipay.system.oauth.token answers success without a code
        if node.get("code") not in accept:
            raise ProviderError(f"alipay {method}: {node.get('code')} {node.get('sub_code') or node.get('msg')}")
        return node

    def verify_notification(self, params: dict[str, str]) -> None:
        """RSA2 over the sorted raw form with Alipay's key (cert mode: the Alipay public certificate's key)."""
        fmt.verify_notification(params, self.keys()["alipay"])
