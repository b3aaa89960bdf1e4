"""refresh_provider_keys: once a day each configured real provider fetches its rotated keys (WeChat Pay's
platform certificates), so a rotation at the provider needs no redeploy. An unconfigured provider is skipped."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import ProviderNotConfigured
from ..log import logger
from ..ports import Deps

REAL_PROVIDERS = ("alipay", "wechat")


def refresh_provider_keys(deps: Deps, now: datetime) -> int:
    refreshed = 0
    for name in REAL_PROVIDERS:
        try:
            deps.provider(name).refresh_keys()
            refreshed += 1
        except ProviderNotConfigured:
            continue
        except Exception:  # noqa: BLE001 - keys already held stay in use; tomorrow's run tries again
            logger.exception("provider key refresh failed", extra={"provider": name})
    return refreshed
