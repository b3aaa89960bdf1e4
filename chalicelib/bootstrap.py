"""The one place that builds dependencies, lazily, cached for the life of the Lambda container.

Tests call `bootstrap(clock=FixedClock(...))` to swap pieces; clients are created on first use
so `mock_aws` and endpoint variables set by the tests take effect.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, OffsetClock, SystemClock
from .config import Settings, get_settings
from .store.dynamo import Table
from .store.queues import Queues

PROVIDERS = {
    "sandbox": "chalicelib.providers.sandbox:SandboxProvider",
    "alipay": "chalicelib.providers.alipay:AlipayProvider",
    "wechat": "chalicelib.providers.wechat:WechatProvider",
}


class Clients:
    """The container's AWS clients, each made on its first use, all from one session: a session per client
    loads the endpoint rules and its loader's files again (twice the CPU of a cold start's clients,
    bench/foundation.py). Made under a lock, as a session is not thread-safe; the clients are."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session: Any = None
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        with self._lock:
            if service not in self._made:
                if self._session is None:
                    self._session = _session()
                self._made[service] = _client(service, self._settings, self._session)
            return self._made[service]

    def made(self) -> list[str]:
        """The services whose client exists (what a cold start paid for)."""
        with self._lock:
            return sorted(self._made)


@dataclass
class Deps:  # the concrete container; services see it through ports.Deps
    """Everything a service, job or route needs from the outside world."""

    settings: Settings
    table: Table
    queues: Queues
    clock: Clock
    # EventBridge: only the outbox worker publishes, so the client is made on its first use
    events_client: Any = None
    clients: Clients | None = None
    providers: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _secret_read: bool = False

    @property
    def events(self) -> Any:
        if self.events_client is None and self.clients is not None:
            self.events_client = self.clients.get("events")  # Clients.get makes it once under its lock
        return self.events_client

    @events.setter
    def events(self, client: Any) -> None:
        self.events_client = client

    def provider(self, name: str) -> Any:
        """The provider adapter by name, imported on first use (keeps cold start small)."""
        with self._lock:
            if name not in self.providers:
                if name not in PROVIDERS:
                    raise KeyError(name)
                if name != "sandbox" and self.settings.provider_secret and not self._secret_read:
                    from .provider_secrets import with_provider_secret

                    self.settings = with_provider_secret(self.settings, _client("secretsmanager", self.settings))
                    self._secret_read = True
                module, cls = PROVIDERS[name].split(":")
                self.providers[name] = getattr(importlib.import_module(module), cls)(self)
            return self.providers[name]


_deps: Deps | None = None
_guard = threading.Lock()


# One client serves every thread of a process (the local stack's HTTP server takes 64 connections at once;
# a Lambda runs one request at a time): botocore's default pool of 10 would drop connections under a crowd.
MAX_POOL_CONNECTIONS = 64


def _session() -> Any:
    import boto3  # boto3 honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>

    return boto3.session.Session()


def _client(service: str, settings: Settings, session: Any = None) -> Any:
    from botocore.config import Config

    return (session or _session()).client(
        service, region_name=settings.region, config=Config(max_pool_connections=MAX_POOL_CONNECTIONS)
    )


def _make_clock(settings: Settings, table: Table) -> Clock:
    if not settings.sandbox_enabled:
        return SystemClock()

    def load() -> float:
        item = table.get("CLOCK", "CLOCK")
        return (item or {}).get("offset_ms", 0) / 1000

    def save(offset: float) -> None:
        table.put({"pk": "CLOCK", "sk": "CLOCK", "offset_ms": int(round(offset * 1000))})

    return OffsetClock(load, save, settings.clock_cache_seconds)


def bootstrap(settings: Settings | None = None, clock: Clock | None = None, **overrides: Any) -> Deps:
    """Build (or rebuild) the dependencies; pieces passed in replace the defaults."""
    global _deps
    settings = settings or get_settings()
    # Every request reads the table, so its client is made now; SQS and EventBridge on their first use
    # (Clients: one session for all of them).
    clients = Clients(settings)
    table = overrides.pop("table", None) or Table(clients.get("dynamodb"), settings.table_name)
    queues = overrides.pop("queues", None) or Queues(None, settings.queue_prefix, lambda: clients.get("sqs"))
    deps = Deps(
        settings=settings,
        table=table,
        queues=queues,
        clock=clock or _make_clock(settings, table),
        events_client=overrides.pop("events", None),
        clients=clients,
        **overrides,
    )
    with _guard:
        _deps = deps
    return deps


def deps() -> Deps:
    """The cached dependencies, built on first use."""
    if _deps is None:
        with _guard:
            if _deps is not None:
                return _deps
        return bootstrap()
    return _deps


def reset() -> None:
    """Forget the cached dependencies (tests, stage changes)."""
    global _deps
    with _guard:
        _deps = None
    get_settings.cache_clear()
