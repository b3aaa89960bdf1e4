"""Settings: stage, resource names, keys and every policy number, from the environment.

Read lazily (never at import time): Chalice sets stage variables per call in tests, and Lambda
sets them before the first call. Plain dataclasses keep the cold import small.

Environment: CREDITFIRST_STAGE, CREDITFIRST_TABLE, CREDITFIRST_QUEUE_PREFIX, CREDITFIRST_EVENT_BUS,
CREDITFIRST_ADMIN_KEY, CREDITFIRST_SESSION_SECRET, CREDITFIRST_SANDBOX_SECRET, CREDITFIRST_SESSION_HOURS,
CREDITFIRST_TIMER_SHARDS (due-index partitions per timer kind, default 4, 1..256; only ever raise it),
CREDITFIRST_POLICY (JSON object overriding any Policy number), AWS_DEFAULT_REGION.
Outside stage `local`, CREDITFIRST_SESSION_SECRET must hold at least 32 bytes and CREDITFIRST_ADMIN_KEY 24,
or every route answers 503 `misconfigured` (MIN_SECRET_BYTES).

Credit providers (never logged). In production CREDITFIRST_PROVIDER_SECRET names a Secrets Manager secret
holding these as a JSON object keyed by field name (alipay_private_key, ...), read on first use:
- Alipay: CREDITFIRST_ALIPAY_APP_ID, CREDITFIRST_ALIPAY_PRIVATE_KEY (merchant RSA2 key, PEM or base64),
  CREDITFIRST_ALIPAY_PUBLIC_KEY (Alipay's public key, PEM or base64 DER), CREDITFIRST_ALIPAY_GATEWAY
  (default https://openapi.alipay.com/gateway.do), CREDITFIRST_ALIPAY_NOTIFY_URL,
  CREDITFIRST_ALIPAY_ZHIMA_PRODUCT_CODE, CREDITFIRST_ALIPAY_FREEZE_CATEGORY, CREDITFIRST_ALIPAY_SERVICE_ID,
  CREDITFIRST_ALIPAY_SELLER_ID (the merchant's Alipay user id, 2088...: seller_id of pre-auth captures),
  CREDITFIRST_ALIPAY_OP_APP_ID (the mini-program's app id when it differs from the calling app; open_id users),
  certificate mode instead of a bare Alipay public key: CREDITFIRST_ALIPAY_APP_CERT (appCertPublicKey PEM),
  CREDITFIRST_ALIPAY_PUBLIC_CERT (alipayCertPublicKey_RSA2 PEM), CREDITFIRST_ALIPAY_ROOT_CERT (alipayRootCert
  chain PEM); all three set = certificate mode.
- WeChat Pay: CREDITFIRST_WECHAT_MCH_ID, CREDITFIRST_WECHAT_APPID, CREDITFIRST_WECHAT_APP_SECRET (mini-program
  login), CREDITFIRST_WECHAT_SERVICE_ID (Pay Score), CREDITFIRST_WECHAT_PRIVATE_KEY (merchant API key, PEM),
  CREDITFIRST_WECHAT_CERT_SERIAL (its certificate serial), CREDITFIRST_WECHAT_APIV3_KEY,
  CREDITFIRST_WECHAT_PLATFORM_CERTS (one or more platform certificate PEMs), CREDITFIRST_WECHAT_PUBLIC_KEY and
  CREDITFIRST_WECHAT_PUBLIC_KEY_ID (the newer `PUB_KEY_ID_...` key; both accepted during a switch),
  CREDITFIRST_WECHAT_GATEWAY (default https://api.mch.weixin.qq.com), CREDITFIRST_WECHAT_LOGIN_GATEWAY
  (default https://api.weixin.qq.com), CREDITFIRST_WECHAT_NOTIFY_URL, CREDITFIRST_WECHAT_BAND (the band an
  opened Pay Score service stands for; default 650-699), CREDITFIRST_WECHAT_APIV2_KEY (signs the
  mini-program's Pay Score parameters, HMAC-SHA256), CREDITFIRST_WECHAT_SERVICE_ID_DEPOSIT (先免: risk fund
  DEPOSIT) and CREDITFIRST_WECHAT_SERVICE_ID_PAY_LATER (先享: ESTIMATE_ORDER_COST), each falling back to
  CREDITFIRST_WECHAT_SERVICE_ID. Platform certificates downloaded by the daily refresh are kept in the table
  (PROV#wechat#certs), so every container sees a rotation without a redeploy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from functools import lru_cache

from .domain.policy import Policy


@dataclass(frozen=True)
class Settings:
    """Deployment settings; secrets are excluded from repr so they never reach a log."""

    stage: str = "local"
    region: str = "us-east-1"
    table_name: str = "creditfirst-local"
    queue_prefix: str = "creditfirst-local-"
    event_bus: str = "creditfirst-local"
    admin_key: str = field(default="", repr=False)
    session_secret: str = field(default="", repr=False)
    sandbox_secret: str = field(default="", repr=False)
    session_hours: int = 24
    timer_shards: int = 4  # due-index partitions per timer kind (store/schema.py shard_count)
    clock_cache_seconds: float = 1.0
    # Alipay (Zhima credit + fund authorization)
    alipay_app_id: str = ""
    alipay_private_key: str = field(default="", repr=False)
    alipay_public_key: str = field(default="", repr=False)
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"
    alipay_notify_url: str = ""
    alipay_zhima_product_code: str = "w1010100000000002733"
    alipay_freeze_category: str = "RENT_DIGITAL"
    alipay_service_id: str = ""
    alipay_seller_id: str = ""
    alipay_op_app_id: str = ""
    alipay_app_cert: str = field(default="", repr=False)
    alipay_public_cert: str = field(default="", repr=False)
    alipay_root_cert: str = field(default="", repr=False)
    # WeChat Pay (Pay Score, APIv3)
    wechat_mch_id: str = ""
    wechat_appid: str = ""
    wechat_app_secret: str = field(default="", repr=False)
    wechat_service_id: str = ""
    wechat_private_key: str = field(default="", repr=False)
    wechat_cert_serial: str = ""
    wechat_apiv3_key: str = field(default="", repr=False)
    wechat_platform_certs: str = field(default="", repr=False)
    wechat_public_key: str = field(default="", repr=False)
    wechat_public_key_id: str = ""
    wechat_gateway: str = "https://api.mch.weixin.qq.com"
    wechat_login_gateway: str = "https://api.weixin.qq.com"
    wechat_notify_url: str = ""
    wechat_band: str = "650-699"
    wechat_apiv2_key: str = field(default="", repr=False)
    wechat_service_id_deposit: str = ""
    wechat_service_id_pay_later: str = ""
    # member-day reminders (services/growth/reminders.py): the operator's message template ids
    wechat_reminder_template: str = ""
    wechat_reminder_state: str = "formal"  # subscribeMessage.send miniprogram_state: developer | trial | formal
    alipay_reminder_template: str = ""
    provider_secret: str = ""  # Secrets Manager id of a JSON object of the alipay_*/wechat_* fields above
    policy: Policy = field(default_factory=Policy)
    extra: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def wechat_deposit_service(self) -> str:
        """The Pay Score service of deposit-free rentals (先免, risk fund DEPOSIT)."""
        return self.wechat_service_id_deposit or self.wechat_service_id

    @property
    def wechat_pay_later_service(self) -> str:
        """The Pay Score service of pay-later orders and bookings (先享, ESTIMATE_ORDER_COST)."""
        return self.wechat_service_id_pay_later or self.wechat_service_id

    @property
    def sandbox_enabled(self) -> bool:
        return self.stage in ("local", "sandbox")

    def misconfigured(self) -> list[str]:
        """The variables a deployed stage lacks or has too short to resist guessing (names, never values).
        Only `local` runs with the published keys of .chalice/config.json."""
        if self.stage == "local":
            return []
        return [_ENV[name] for name, least in MIN_SECRET_BYTES.items() if len(getattr(self, name).encode()) < least]


# Outside `local`, shorter keys make the API answer 503 misconfigured (an empty session secret would let
# anyone sign a member token).
MIN_SECRET_BYTES = {"session_secret": 32, "admin_key": 24}
# Each shard is a partition of the due index and one queue message per sweep: 256 is far past need.
MAX_TIMER_SHARDS = 256


_ENV = {
    "stage": "CREDITFIRST_STAGE",
    "region": "AWS_DEFAULT_REGION",
    "table_name": "CREDITFIRST_TABLE",
    "queue_prefix": "CREDITFIRST_QUEUE_PREFIX",
    "event_bus": "CREDITFIRST_EVENT_BUS",
    "admin_key": "CREDITFIRST_ADMIN_KEY",
    "session_secret": "CREDITFIRST_SESSION_SECRET",
    "sandbox_secret": "CREDITFIRST_SANDBOX_SECRET",
    "session_hours": "CREDITFIRST_SESSION_HOURS",
    "timer_shards": "CREDITFIRST_TIMER_SHARDS",
    "provider_secret": "CREDITFIRST_PROVIDER_SECRET",
    **{
        name: f"CREDITFIRST_{name.upper()}"
        for name in (
            "alipay_app_id",
            "alipay_private_key",
            "alipay_public_key",
            "alipay_gateway",
            "alipay_notify_url",
            "alipay_zhima_product_code",
            "alipay_freeze_category",
            "alipay_service_id",
            "alipay_seller_id",
            "alipay_op_app_id",
            "alipay_app_cert",
            "alipay_public_cert",
            "alipay_root_cert",
            "wechat_mch_id",
            "wechat_appid",
            "wechat_app_secret",
            "wechat_service_id",
            "wechat_private_key",
            "wechat_cert_serial",
            "wechat_apiv3_key",
            "wechat_platform_certs",
            "wechat_public_key",
            "wechat_public_key_id",
            "wechat_gateway",
            "wechat_login_gateway",
            "wechat_notify_url",
            "wechat_band",
            "wechat_apiv2_key",
            "wechat_service_id_deposit",
            "wechat_service_id_pay_later",
        )
    },
    **{
        name: f"CREDITFIRST_{name.upper()}"
        for name in ("wechat_reminder_template", "wechat_reminder_state", "alipay_reminder_template")
    },
}


def _policy_from_env(text: str | None) -> Policy:
    if not text:
        return Policy()
    data = json.loads(text)
    known = {f.name for f in fields(Policy)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"CREDITFIRST_POLICY has unknown keys: {sorted(unknown)}")
    return Policy(**data)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, cached for the life of the process."""
    values: dict[str, object] = {k: os.environ[v] for k, v in _ENV.items() if os.environ.get(v)}
    for name in ("session_hours", "timer_shards"):
        if name in values:
            values[name] = int(str(values[name]))
    if not 1 <= int(str(values.get("timer_shards", 4))) <= MAX_TIMER_SHARDS:
        raise ValueError(f"CREDITFIRST_TIMER_SHARDS must be 1..{MAX_TIMER_SHARDS}")
    extra = {k: v for k, v in os.environ.items() if k.startswith("CREDITFIRST_") and k not in _ENV.values()}
    return Settings(**values, policy=_policy_from_env(os.environ.get("CREDITFIRST_POLICY")), extra=extra)
