"""Session tokens (HMAC-signed, expiring) and the operator key. Checked in our code so it holds everywhere."""

from __future__ import annotations

import hmac

from ..domain.errors import Forbidden, Unauthenticated
from ..tokens import Principal, issue_token, verify_token

__all__ = ["Principal", "authenticate", "bearer", "issue_token", "verify_token"]


def bearer(headers: dict) -> str | None:
    value = headers.get("authorization") or ""
    if not value.lower().startswith("bearer "):
        return None
    return value[7:].strip() or None


def authenticate(headers: dict, need: str, session_secret: str, admin_key: str) -> Principal | None:
    """need: 'member' | 'admin' | 'none'. Raises Unauthenticated/Forbidden."""
    if need == "none":
        return None
    token = bearer(headers)
    if not token:
        raise Unauthenticated("missing Authorization: Bearer token")
    if need == "admin":
        if admin_key and hmac.compare_digest(token.encode(), admin_key.encode()):
            return Principal("admin")
        if token.startswith("v1."):
            verify_token(session_secret, token)  # a valid member token is known but not allowed
            raise Forbidden("operator credential required")
        raise Unauthenticated("invalid operator credential")
    if admin_key and hmac.compare_digest(token.encode(), admin_key.encode()):
        raise Forbidden("this route is for members")
    return verify_token(session_secret, token)
