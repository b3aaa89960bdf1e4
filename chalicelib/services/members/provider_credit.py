"""Credit consent that a provider answers later (WeChat Pay Score): granted, declined or withdrawn by
notification. Alipay answers at once, so these only ever see asynchronous providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...log import logger
from ...store.uow import UnitOfWork
from . import credit
from .members import SNAPSHOT_ATTRS, member_id_for, member_key

if TYPE_CHECKING:
    from ...ports import Deps
    from ...providers.base import Notification


def _member(deps: Deps, note: Notification, provider: str) -> dict | None:
    user = note.data.get("provider_user_id")
    member = deps.table.get(*member_key(member_id_for(provider, user))) if user else None
    if member is None:
        logger.info("consent notification for no known member", extra={"id": note.id, "provider": provider})
    return member


def on_credit_granted(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    member = _member(deps, note, provider)
    if member and note.data.get("band"):
        credit.stage_granted(deps, uow, member, note.data["band"], uow.now.strftime("%Y-%m-%d"))


def on_credit_withdrawn(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    """The user closed the service at the provider (WeChat PAYSCORE.USER_CLOSE_SERVICE): like
    DELETE /v1/credit/authorization, the snapshot is withdrawn."""
    member = _member(deps, note, provider)
    if member is not None:
        credit.withdraw(deps, uow, member["member_id"])


def on_credit_declined(deps: Deps, note: Notification, uow: UnitOfWork, provider: str) -> None:
    member = _member(deps, note, provider)
    if member is None:
        return
    if note.data.get("withdrawn"):
        credit.withdraw(deps, uow, member["member_id"])  # the user closed the service: snapshot deleted
    else:
        uow.update(*member_key(member["member_id"]), set={"authorization_status": "declined"}, remove=SNAPSHOT_ATTRS)
        uow.audit(f"member#{member['member_id']}", "credit_declined", event="credit.declined")
