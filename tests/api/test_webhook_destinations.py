"""Outbound webhook calls never reach internal addresses: outside stage `local`, only https URLs whose
host resolves to public addresses are accepted (SSRF), and the check is repeated at every attempt."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.webhooks import internal_address
from chalicelib.services.webhooks.endpoints import check_destination
from tests.helpers import ADMIN, Api

SECRET, KEY = "s" * 32, "a" * 24


@pytest.fixture
def sandbox_api(aws, monkeypatch):
    """The app in stage `sandbox` (not local): the SSRF rules apply."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from tests.conftest import PROJECT_DIR

    monkeypatch.setenv("CREDITFIRST_STAGE", "sandbox")
    monkeypatch.setenv("CREDITFIRST_SESSION_SECRET", SECRET)
    monkeypatch.setenv("CREDITFIRST_ADMIN_KEY", KEY)
    bootstrap.reset()
    bootstrap.bootstrap()
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as c:
        yield Api(c)
    bootstrap.reset()


@pytest.mark.parametrize("url", [
    "http://example.com/hooks",             # not https
    "https://127.0.0.1/hooks",              # loopback
    "https://localhost:8443/hooks",         # resolves to loopback
    "https://169.254.169.254/latest/meta-data",  # link-local: the cloud metadata service
    "https://10.1.2.3/hooks", "https://192.168.0.10/hooks", "https://172.16.5.5/hooks",  # private
    "https://[::1]/hooks", "https://[fd00::1]/hooks", "https://[::ffff:127.0.0.1]/hooks",
    "https://0.0.0.0/hooks", "https://100.64.0.1/hooks",
    "https://user:pw@example.com/hooks",    # credentials in the URL
])
def test_internal_or_plain_http_destinations_are_refused_outside_local(sandbox_api, url):
    status, out = sandbox_api.call("POST", "/v1/admin/webhooks", {"url": url, "events": ["*"]},
                                   headers={"Authorization": f"Bearer {KEY}"})
    assert status == 400 and out["error"]["field"] == "url", out
    assert sandbox_api.call("GET", "/v1/admin/webhooks", headers={"Authorization": f"Bearer {KEY}"})[1]["items"] == []


def test_a_public_https_destination_is_accepted_and_a_rebound_name_is_refused_later():
    public = lambda host, port: ["93.184.215.14"]  # noqa: E731
    check_destination("https://hooks.example.com/x", local=False, resolver=public)
    with pytest.raises(ValidationFailed):  # the same name now resolving inside (DNS rebinding)
        check_destination("https://hooks.example.com/x", local=False,
                          resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(ValidationFailed):
        check_destination("https://nowhere.invalid/x", local=False, resolver=lambda host, port: [])


def test_local_accepts_loopback_http_for_development(client):
    status, out = Api(client).call("POST", "/v1/admin/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["*"]},
                                   headers=dict(ADMIN))
    assert status == 201, out


@pytest.mark.parametrize(("address", "internal"), [
    ("8.8.8.8", False), ("2606:4700::1111", False), ("127.0.0.2", True), ("169.254.1.1", True),
    ("fe80::1", True), ("::ffff:10.0.0.1", True), ("198.18.0.1", True),
])
def test_address_classes(address, internal):
    assert internal_address(address) is internal
