"""Provider orders opened before our own commit. The mini-program needs their params (a WeChat Pay Score
package, an Alipay Huabei trade) in our answer, so the provider is asked while the request runs. The intent
is written first, with a timer, and deleted by the very transaction that records the object; an intent still
there when its timer rings means that commit never happened (the request failed or was abandoned), and the
provider's order is closed so nothing stays open at the user's provider account.

The numbers are the object's own (chosen once per request: from the Idempotency-Key when there is one), so
a retried request reaches the same provider order rather than opening a second."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import iso, parse_iso
from ..domain import request_numbers as numbers
from ..domain.errors import InvalidState, ProviderError
from ..log import logger
from ..ports import Deps
from ..store.dynamo import ConditionFailed
from ..store.schema import shard_of
from ..store.uow import UnitOfWork

KIND_OF_PURPOSE = {"freeze": "freeze", "pl": "paylater", "charge": "trade", "deposit": "trade"}


def intent_key(object_id: str) -> tuple[str, str]:
    return f"INTENT#{object_id}", "INTENT"


def record(deps: Deps, uow: UnitOfWork, object_key: tuple[str, str], number: str, provider: str, now: datetime) -> None:
    """Before the provider call: what would have to be closed if our commit never comes; `uow` (the
    object's transaction) deletes it. Only for providers asked before the commit (confirms_in_app)."""
    if not deps.provider(provider).confirms_in_app:
        return
    found = numbers.split(number)
    if found is None:
        raise ValueError(f"not one of our numbers: {number}")
    wake = now + timedelta(minutes=deps.settings.policy.reconcile_after_minutes)
    deps.table.put(
        {
            "pk": intent_key(found[0])[0],
            "sk": "INTENT",
            "type": "intent",
            "number": number,
            "object_pk": object_key[0],
            "object_sk": object_key[1],
            "provider": provider,
            "created_at": iso(now),
            "due_pk": f"timer#intent#{shard_of(found[0])}",
            "due_at": iso(wake),
        }
    )
    # Committed with the object: nothing to close. Never after the closer began (a request that outlived
    # the reconcile window): then the object is not written at all.
    uow.delete(
        *intent_key(found[0]),
        condition="attribute_not_exists(closing_at)",
        on_fail=InvalidState(
            "this request took too long and its provider order was closed; send it again with a new Idempotency-Key"
        ),
    )


def close_orphan(deps: Deps, pk: str, sk: str) -> str:
    """Worker: an intent whose timer rang. Committed meanwhile (another attempt with the same id): only the
    intent goes. Never committed: close the provider's order, then drop the intent (a failure retries)."""
    intent, now = deps.table.get(pk, sk), deps.clock.now()
    if not intent or parse_iso(intent["due_at"]) > now:
        return "nothing_to_do"
    if not intent.get("closing_at"):  # from here on the object's own commit can no longer happen
        try:
            deps.table.update(pk, sk, set={"closing_at": iso(now)}, condition="attribute_exists(pk)")
        except ConditionFailed:
            return "nothing_to_do"  # committed meanwhile: the commit took the intent away
    if deps.table.get(intent["object_pk"], intent["object_sk"]) is None:
        _close(deps, intent)  # raises while the provider refuses: the message comes back
    deps.table.delete(pk, sk)
    return "closed"


def _close(deps: Deps, intent: dict) -> None:
    object_id, purpose, _ = numbers.split(intent["number"]) or ("", "", None)
    provider = deps.provider(intent["provider"])
    kind = KIND_OF_PURPOSE.get(purpose)
    if kind == "freeze":
        result = provider.cancel_freeze(object_id, intent["number"])
    elif kind == "paylater":
        result = provider.close_pay_later(intent["number"], None, "order not placed")
    else:  # a Huabei trade nobody can pay any more closes by itself at its pay window (timeout_express)
        logger.info("orphan trade left to close at its pay window", extra={"number": intent["number"]})
        return
    if not result.ok:
        raise ProviderError(f"the provider refused to close an orphan: {result.reason or result.status}")
    logger.info("orphan provider order closed", extra={"number": intent["number"], "kind": kind})
