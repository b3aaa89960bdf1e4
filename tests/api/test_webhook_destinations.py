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


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # not https
        "https://127.0.0.1/hooks",  # loopback
        "https://localhost:8443/hooks",  # resolves to loopback
        "https://169.254.169.254/latest/meta-data",  # link-local: the cloud metadata service
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.5.5/hooks",  # private
        "https://[::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://0.0.0.0/hooks",
        "https://100.64.0.1/hooks",
        "https://user:pw@example.com/hooks",  # credentials in the URL
    ],
)
def test_internal_or_plain_http_destinations_are_refused_outside_local(sandbox_api, url):
    status, out = sandbox_api.call(
        "POST", "/v1/admin/webhooks", {"url": url, "events": ["*"]}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert status == 400 and out["error"]["field"] == "url", out
    assert sandbox_api.call("GET", "/v1/admin/webhooks", headers={"Authorization": f"Bearer {KEY}"})[1]["items"] == []


def test_a_public_https_destination_is_accepted_and_a_rebound_name_is_refused_later():
    public = lambda host, port: ["93.184.215.14"]  # noqa: E731
    check_destination("https://hooks.example.com/x", local=False, resolver=public)
    with pytest.raises(ValidationFailed):  # the same name now resolving inside (DNS rebinding)
        check_destination(
            "https://hooks.example.com/x", local=False, resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"]
        )
    with pytest.raises(ValidationFailed):
        check_destination("https://nowhere.invalid/x", local=False, resolver=lambda host, port: [])


def test_local_accepts_loopback_http_for_development(client):
    status, out = Api(client).call(
        "POST", "/v1/admin/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["*"]}, headers=dict(ADMIN)
    )
    assert status == 201, out


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("127.0.0.2", True),
        ("169.254.1.1", True),
        ("fe80::1", True),
        ("::ffff:10.0.0.1", True),
        ("198.18.0.1", True),
    ],
)
def test_address_classes(address, internal):
    assert internal_address(address) is internal


def _tls_receiver(tmp_path, host: str):
    """An https receiver on loopback with a certificate for `host`; returns (server, port, client context)."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem, key_pem = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen.append(
                {
                    "host": self.headers["Host"],
                    "path": self.path,
                    "body": self.rfile.read(int(self.headers["Content-Length"])),
                }
            )
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_pem, key_pem)
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_ctx = ssl.create_default_context(cafile=str(cert_pem))
    return server, server.server_address[1], client_ctx, seen


def test_https_delivery_connects_to_the_checked_address_under_the_hosts_name(tmp_path):
    """No second DNS lookup: the connection goes to the address the SSRF check approved, while SNI, the
    certificate check and Host use the URL's name (a name that rebinds in between gains nothing)."""
    from chalicelib.services.webhooks.delivery import post_pinned

    server, port, ctx, seen = _tls_receiver(tmp_path, "hooks.merchant.example")
    try:
        url = f"https://hooks.merchant.example:{port}/in?x=1"  # a name no resolver knows
        assert post_pinned(url, "127.0.0.1", b'{"id":"evt_1"}', {"Content-Type": "application/json"}, ctx) == 204
        assert seen == [{"host": f"hooks.merchant.example:{port}", "path": "/in?x=1", "body": b'{"id":"evt_1"}'}]
        wrong_name = f"https://other.example:{port}/in"  # certificate for another name: no delivery
        assert post_pinned(wrong_name, "127.0.0.1", b"{}", {}, ctx) is None and len(seen) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_outside_local_each_attempt_checks_again_and_posts_only_to_the_checked_address(monkeypatch):
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from chalicelib.services.webhooks import delivery, endpoints

    deps = SimpleNamespace(settings=SimpleNamespace(stage="prod"))
    hook = {"id": "wh_1", "url": "https://hooks.merchant.example/in", "secret": "whsec_x"}
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    calls = []
    monkeypatch.setattr(delivery, "post_pinned", lambda url, address, body, headers: calls.append(address) or 200)
    monkeypatch.setattr(endpoints, "resolve", lambda host, port: ["93.184.215.14"])
    assert delivery._send(deps, hook, "evt_1", b"{}", now, send=lambda *a: 500) == 200
    assert calls == ["93.184.215.14"]
    monkeypatch.setattr(endpoints, "resolve", lambda host, port: ["169.254.169.254"])  # the name rebound inside
    assert delivery._send(deps, hook, "evt_1", b"{}", now, send=lambda *a: 500) is None
    assert calls == ["93.184.215.14"]  # nothing sent
