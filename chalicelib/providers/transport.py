"""Outbound HTTP for the adapters: stdlib urllib (no heavy import), explicit timeouts, raw bytes back.

The raw body matters: both providers sign the exact bytes they send, so verification happens before
any parsing.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from ..domain.errors import ProviderError

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and the raw body of a provider answer."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def send(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> HttpResponse:
    """One request; HTTP error statuses are answers (returned), network failures are ProviderError."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - configured https gateway
            return HttpResponse(resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()})
    except urllib.error.HTTPError as exc:
        return HttpResponse(exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()})
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ProviderError(f"provider unreachable: {type(exc).__name__}") from exc
