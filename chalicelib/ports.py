"""What a service, job or route needs from the outside world, as a typed protocol.

Services and jobs depend on this, never on the concrete container: bootstrap.py builds one
(boto3 clients, repositories, providers, clock), and a test may hand in anything of this shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .clock import Clock
    from .config import Settings
    from .providers.base import CreditProvider
    from .store.dynamo import Table
    from .store.queues import Queues


class Deps(Protocol):
    """Settings, the table, the queues, the one clock, the event bus client and the providers."""

    settings: Settings
    table: Table
    queues: Queues
    clock: Clock
    events: Any  # EventBridge client

    def provider(self, name: str) -> CreditProvider:
        """The provider adapter by name (sandbox, alipay, wechat)."""
        ...
