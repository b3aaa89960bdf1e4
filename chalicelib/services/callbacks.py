"""Provider notifications in four steps: verify the raw body, parse to a neutral Notification,
dispatch through a dict (unknown kinds logged and acknowledged), and move state forward in the
same transaction that marks the notification handled (so a repeat has no second effect).
A notification that could not be applied is never acknowledged: the provider sends it again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..log import count, logger
from ..store.uow import Retry, UnitOfWork
from .tables import NOTIFICATIONS

if TYPE_CHECKING:
    from ..ports import Deps
    from ..providers.base import Ack

HANDLERS = NOTIFICATIONS  # kind -> handler: the areas' tables, assembled in tables.py
ATTEMPTS = 5
NOT_APPLIED = "NotificationsNotApplied"  # the metric operators alarm on


def handle(deps: Deps, provider_name: str, headers: dict[str, str], raw_body: bytes) -> Ack:
    """Verify, dedupe, dispatch. Raises InvalidSignature (-> 401, no effect)."""
    provider = deps.provider(provider_name)
    note = provider.verify_notification(headers, raw_body)
    handler = HANDLERS.get(note.kind)
    if handler is None:
        logger.info(
            "notification of an unknown kind acknowledged", extra={"kind": note.kind, "provider": provider_name}
        )
        return provider.ack()
    for _ in range(ATTEMPTS):
        uow = UnitOfWork(deps.table, deps.clock.now(), f"provider:{provider_name}", deps.queues.send)
        uow.put(
            {
                "pk": f"NOTIF#{provider_name}#{note.id}",
                "sk": "NOTIF",
                "kind": note.kind,
                "out_request_no": note.out_request_no,
                "at": uow.now.isoformat(),
            },
            condition="attribute_not_exists(pk)",
            on_fail=_Duplicate(),
        )
        try:
            handler(deps, note, uow, provider_name)
            uow.commit()
            return provider.ack()
        except _Duplicate:
            logger.info("duplicate notification acknowledged", extra={"id": note.id, "provider": provider_name})
            return provider.ack()
        except Retry:
            continue
    logger.warning(
        "notification not applied (contention); the provider is asked to resend it",
        extra={"id": note.id, "kind": note.kind, "provider": provider_name},
    )
    count(NOT_APPLIED, provider=provider_name)
    return provider.nack()


class _Duplicate(Exception):
    """The notification marker already exists."""

    pass
