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
# A review of kind "dispute" names its subject in its ref_id: `dispute_<object id>`, the object id's prefix
# (bkg: a booking, rt: a rental) picks the area's resolver.
DISPUTES: dict[str, Resolver] = {"bkg": orders.RESOLVERS["dispute"], **rentals.DISPUTES}


def resolve_dispute(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    subject = review["ref_id"].removeprefix("dispute_").split("_", 1)[0]
    DISPUTES[subject](deps, uow, review, approved)


RESOLVERS: dict[str, Resolver] = {
    **rentals.RESOLVERS,
    **orders.RESOLVERS,
    **growth.RESOLVERS,
    "dispute": resolve_dispute,
}
