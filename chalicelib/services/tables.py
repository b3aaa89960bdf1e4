"""The one place the areas' tables are assembled: which handler applies each provider notification
kind, and which resolver continues each kind of review. Imported on the first notification or review
decision (never by `import app`), so a cold start stays cheap."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .growth import handlers as growth
from .members import handlers as members
from .orders import handlers as orders
from .rentals import handlers as rentals

if TYPE_CHECKING:
    from ..ports import Deps
    from ..providers.base import Notification
    from ..store.uow import UnitOfWork

Handler = Callable[["Deps", "Notification", "UnitOfWork", str], None]
Resolver = Callable[["Deps", "UnitOfWork", dict, bool], None]

NOTIFICATIONS: dict[str, Handler] = {**members.NOTIFICATIONS, **rentals.NOTIFICATIONS, **orders.NOTIFICATIONS}
RESOLVERS: dict[str, Resolver] = {**rentals.RESOLVERS, **orders.RESOLVERS, **growth.RESOLVERS}
