"""Provider keys from Secrets Manager: one JSON secret keyed by Settings field names
(`alipay_private_key`, `wechat_apiv3_key`, ...), read once per container when a real provider is
first used, so a deployment without that provider never pays for the call. Values are never logged;
errors name keys, not values."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from .config import Settings
from .domain.errors import ProviderError, ProviderNotConfigured

PREFIXES = ("alipay_", "wechat_")


def with_provider_secret(settings: Settings, client: Any) -> Settings:
    """`settings` with the secret's values; ProviderNotConfigured when the secret is missing or bad."""
    try:
        raw = client.get_secret_value(SecretId=settings.provider_secret)["SecretString"]
    except client.exceptions.ResourceNotFoundException as exc:
        raise ProviderNotConfigured(f"provider secret {settings.provider_secret} does not exist") from exc
    except Exception as exc:  # throttling, network: the provider call can be retried later
        raise ProviderError(f"provider secret unreadable ({type(exc).__name__})") from exc
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise ProviderNotConfigured("the provider secret is not a JSON object")
    allowed = {f.name for f in fields(Settings) if f.name.startswith(PREFIXES)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ProviderNotConfigured(f"unknown keys in the provider secret: {', '.join(unknown)}")
    return replace(settings, **{k: str(v) for k, v in values.items() if v not in (None, "")})
