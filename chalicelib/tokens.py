"""Session tokens: HMAC-signed, expiring, issued by the members area when a member signs in and checked
by the API on every member route. Below both, so a service never imports the API to sign one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from .domain.errors import Unauthenticated


@dataclass(frozen=True)
class Principal:
    """Who is calling: a member (with provider and device) or the operator."""

    kind: str  # "member" | "admin"
    member_id: str | None = None
    provider: str | None = None
    device_id: str | None = None

    @property
    def caller(self) -> str:
        return self.member_id or self.kind


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, member_id: str, provider: str, device_id: str | None, expires_epoch: int) -> str:
    """`v1.<payload>.<mac>`; session expiry is real elapsed time, not the sandbox clock."""
    payload = _b64(
        json.dumps(
            {"m": member_id, "p": provider, "d": device_id, "exp": expires_epoch}, separators=(",", ":"), sort_keys=True
        ).encode()
    )
    mac = hmac.new(secret.encode(), f"v1.{payload}".encode(), hashlib.sha256).digest()
    return f"v1.{payload}.{_b64(mac)}"


def verify_token(secret: str, token: str, now_epoch: float | None = None) -> Principal:
    try:
        version, payload, mac = token.split(".")
        expected = hmac.new(secret.encode(), f"{version}.{payload}".encode(), hashlib.sha256).digest()
        if version != "v1" or not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("bad mac")
        data = json.loads(_unb64(payload))
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise Unauthenticated("invalid session token") from exc
    if data.get("exp", 0) < (now_epoch if now_epoch is not None else time.time()):
        raise Unauthenticated("session expired; sign in again")
    return Principal("member", data["m"], data.get("p"), data.get("d"))
