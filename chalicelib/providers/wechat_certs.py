"""WeChat Pay platform keys: the configured PUB_KEY_ID_ public key and platform certificates, plus the
certificates the daily refresh downloads (GET /v3/certificates, each decrypted with the APIv3 key) and keeps in
the table, so every container picks up a rotation without a redeploy.

References: wechatpay-apiv3/wechatpay-go core/downloader/downloader.go (DownloadCertificates: decrypt each
encrypt_certificate with the APIv3 key, map serial_no -> certificate), services/certificates/models.go
(serial_no, effective_time, expire_time, encrypt_certificate{algorithm, nonce, associated_data, ciphertext}),
core/auth/verifiers/sha256withrsa_combined_verifier.go (public key id first, else the certificate by serial;
GetSerial = the key id), wechatpay-java core/.../CertificateDownloader.java (NOT_FOUND: no certificates, the
merchant uses the platform public key).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, Mapping

from ..clock import iso, parse_iso
from ..domain.errors import InvalidSignature, ProviderError, ProviderNotConfigured
from . import keys as rsa

PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
STORE = ("PROV#wechat#certs", "CERTS")
RELOAD_SECONDS = 3600  # re-read the stored certificates at least hourly
DOWNLOAD_GAP_SECONDS = 300  # an unknown serial may trigger a download at most every 5 minutes per container


class PlatformKeys:
    """Serial -> public key for verifying WeChat's answers and notifications, and the serial we accept."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self._stored: dict[str, dict] | None = None
        self._loaded_at: datetime | None = None
        self._downloaded_at: datetime | None = None

    @property
    def _settings(self) -> Any:
        return self.provider.settings

    def _now(self) -> datetime:
        return self.provider.deps.clock.now()

    def configured(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for pem in PEM_CERT.findall(self._settings.wechat_platform_certs.replace("\\n", "\n")):
            found[rsa.certificate_serial(pem)] = rsa.load_public_key(pem)
        if self._settings.wechat_public_key and self._settings.wechat_public_key_id:
            found[self._settings.wechat_public_key_id.strip().upper()] = rsa.load_public_key(
                self._settings.wechat_public_key
            )
        return found

    def stored(self, reload: bool = False) -> dict[str, dict]:
        """Downloaded certificates still valid now (serial -> {pem, effective_time, expire_time})."""
        stale = self._loaded_at is None or (self._now() - self._loaded_at).total_seconds() > RELOAD_SECONDS
        if self._stored is None or reload or stale:
            item = self.provider.deps.table.get(*STORE) or {}
            self._stored, self._loaded_at = dict(item.get("certs") or {}), self._now()
        now = self._now()
        return {
            s: c for s, c in self._stored.items() if parse_iso(c["effective_time"]) <= now < parse_iso(c["expire_time"])
        }

    def all(self, reload: bool = False) -> dict[str, Any]:
        found = {s: rsa.load_public_key(c["pem"]) for s, c in self.stored(reload).items()}
        found.update(self.configured())
        if not found:
            raise ProviderNotConfigured("wechat pay is not configured (platform certificates or public key)")
        return found

    def lookup(self, headers: Mapping[str, str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keys to verify a message with; an unknown serial re-reads the table, then (certificate mode,
        rate-limited) downloads, so a rotation at WeChat is followed without a redeploy."""
        serial = {k.lower(): v for k, v in headers.items()}.get("wechatpay-serial", "").strip().upper()
        found = {**self.all(), **(extra or {})}
        if serial and serial not in found and not serial.startswith("PUB_KEY_ID_"):
            found.update(self.all(reload=True))
            last = self._downloaded_at
            if serial not in found and (last is None or (self._now() - last).total_seconds() > DOWNLOAD_GAP_SECONDS):
                try:
                    self.refresh()
                except ProviderError:
                    pass  # the message stays unverified: WeChat resends notifications, answers are retried
                found.update(self.all())
        return found

    def accept_serial(self) -> str:
        """Wechatpay-Serial of our requests: the public key id when configured, else the newest certificate."""
        if self._settings.wechat_public_key_id and self._settings.wechat_public_key:
            return self._settings.wechat_public_key_id.strip().upper()
        newest = {s: parse_iso(c["effective_time"]) for s, c in self.stored().items()}
        for pem in PEM_CERT.findall(self._settings.wechat_platform_certs.replace("\\n", "\n")):
            newest.setdefault(rsa.certificate_serial(pem), _not_before(pem))
        if not newest:
            raise ProviderNotConfigured("wechat pay is not configured (platform certificates or public key)")
        return max(newest, key=lambda s: (newest[s], s))

    def refresh(self) -> list[str]:
        """Download the platform certificates, decrypt each with the APIv3 key, check serial and validity,
        verify the answer's signature, and store them for every container. [] in public-key mode."""
        from . import wechat_format as fmt

        self._downloaded_at = self._now()
        client = self.provider.client
        resp, _ = client.raw("GET", "/v3/certificates")
        if resp.status == 404:  # NOT_FOUND: this merchant has no certificates, only the platform public key
            return []
        if resp.status >= 300:
            raise ProviderError(f"wechat pay certificate download answered HTTP {resp.status}")
        downloaded: dict[str, dict] = {}
        fresh: dict[str, Any] = {}
        try:
            data = json.loads(resp.body).get("data") or []
            for entry in data:
                pem = _decrypt(entry["encrypt_certificate"], self._settings.wechat_apiv3_key)
                serial = rsa.certificate_serial(pem)
                if serial != str(entry.get("serial_no", "")).upper():
                    raise InvalidSignature("certificate serial_no does not match its certificate")
                effective, expire = _rfc3339(entry["effective_time"]), _rfc3339(entry["expire_time"])
                downloaded[serial] = {"pem": pem, "effective_time": iso(effective), "expire_time": iso(expire)}
                fresh[serial] = rsa.load_public_key(pem)
        except (InvalidSignature, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ProviderError("wechat pay certificate download unreadable") from exc
        if not downloaded:
            raise ProviderError("wechat pay certificate download returned no certificate")
        known = {s: rsa.load_public_key(c["pem"]) for s, c in (self._stored or {}).items()}
        known.update(self.configured())
        try:  # the download is authentic: AEAD under our APIv3 key, and signed by a key we know or it carries
            fmt.verify_signed(resp.headers, resp.body, {**known, **fresh}, self._now())
        except InvalidSignature as exc:
            raise ProviderError(f"wechat pay certificate download not trusted: {exc.message}") from exc
        self.provider.deps.table.put(
            {"pk": STORE[0], "sk": STORE[1], "certs": downloaded, "updated_at": iso(self._now())}
        )
        self._stored, self._loaded_at = downloaded, self._now()
        return sorted(downloaded)


def _decrypt(sealed: Mapping[str, Any], apiv3_key: str) -> str:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from .wechat_format import apiv3_key_bytes

    if sealed.get("algorithm") != "AEAD_AES_256_GCM":
        raise InvalidSignature("unknown certificate encryption")
    try:
        return (
            AESGCM(apiv3_key_bytes(apiv3_key))
            .decrypt(
                str(sealed["nonce"]).encode(),
                base64.b64decode(str(sealed["ciphertext"]), validate=True),
                str(sealed.get("associated_data") or "").encode() or None,
            )
            .decode()
        )
    except (InvalidTag, ValueError) as exc:
        raise InvalidSignature("certificate does not decrypt with the APIv3 key") from exc


def _rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _not_before(pem: str) -> datetime:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).not_valid_before_utc
