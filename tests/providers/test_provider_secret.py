"""Provider keys from one Secrets Manager secret (production), read once on a real provider's first use."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from tests.helpers import Api
from tests.providers.fake_alipay import FakeAlipay


@pytest.fixture(scope="module")
def gw() -> FakeAlipay:
    fake = FakeAlipay()
    yield fake
    fake.stop()


def _secret(aws, value: str) -> str:  # type: ignore[no-untyped-def]
    """A secret on the embedded endpoint; the app's settings name it (nothing in the environment)."""
    from chalicelib.bootstrap import _client

    name = f"creditfirst/providers-{uuid.uuid4().hex[:8]}"
    _client("secretsmanager", aws.settings).create_secret(Name=name, SecretString=value)
    aws.settings = replace(aws.settings, provider_secret=name)
    return name


def _from_env(env: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix("CREDITFIRST_").lower(): v for k, v in env.items()}


def _count_secret_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from chalicelib import bootstrap

    reads: list[str] = []
    real = bootstrap._client

    def counting(service, settings):  # type: ignore[no-untyped-def]
        client = real(service, settings)
        if service == "secretsmanager":
            client.meta.events.register(
                "before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("GetSecretValue")
            )
        return client

    monkeypatch.setattr(bootstrap, "_client", counting)
    return reads


def test_a_member_signs_in_with_alipay_configured_only_by_the_secret(client, aws, gw, monkeypatch) -> None:
    _secret(aws, json.dumps(_from_env(gw.env())))
    reads = _count_secret_reads(monkeypatch)
    gw.users["auth-code-1"] = {"user_id": "2088000000000042"}
    status, out = Api(client).post("/v1/sessions", {"provider": "alipay", "code": "auth-code-1"})
    assert status == 201, out
    assert gw.calls and gw.calls[-1]["method"] == "alipay.system.oauth.token" and gw.signed_by_merchant(gw.calls[-1])
    status, _ = Api(client).post("/v1/sessions", {"provider": "alipay", "code": "auth-code-1"})
    assert status == 201
    aws.provider("wechat")  # a second real provider reuses what was read
    assert reads == ["GetSecretValue"]
    assert aws.settings.alipay_app_id == gw.app_id and gw.violations == []


def test_a_missing_secret_means_the_provider_is_not_offered(client, aws) -> None:
    from chalicelib.bootstrap import _client

    aws.settings = replace(aws.settings, provider_secret="creditfirst/none-such")
    status, out = Api(client).post("/v1/sessions", {"provider": "alipay", "code": "x"})
    assert status == 400 and out["error"]["field"] == "provider"
    assert (
        client.http.post(
            "/v1/callbacks/alipay", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"a=b"
        ).status_code
        == 404
    )
    assert _client("secretsmanager", aws.settings)  # the sandbox keeps working without any secret
    assert Api(client).post("/v1/sessions", {"provider": "sandbox", "code": "sam:700"})[0] == 201


def test_a_secret_with_unknown_keys_is_refused_naming_keys_never_values(aws) -> None:
    from chalicelib.domain.errors import ProviderNotConfigured

    _secret(aws, json.dumps({"alipay_app_id": "2021", "alipay_privat_key": "TOP-SECRET-VALUE"}))
    with pytest.raises(ProviderNotConfigured) as raised:
        aws.provider("alipay")
    assert "alipay_privat_key" in str(raised.value) and "TOP-SECRET" not in str(raised.value)
    assert "alipay" not in aws.providers
