"""Mini-program params that expire: WeChat Pay Score's `package` lives one hour, so a member who opens a
waiting rental or order again after that gets fresh ones (the provider re-queries its order). The refresh
is a conditional write on the status that was read; a member asking within the hour costs nothing extra."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import iso, parse_iso
from ..log import logger
from ..ports import Deps
from ..store.dynamo import ConditionFailed
from ..store.guards import expect

STALE_AFTER = timedelta(minutes=50)  # before the provider's hour is up, so a member never opens a dead one


def stamp(now: datetime) -> dict:
    """Stored beside provider_params wherever they are written."""
    return {"provider_params_at": iso(now)}


def refreshed(deps: Deps, item: dict, kind: str, number: str, waiting: bool) -> dict:
    """`item`, with fresh provider_params when the ones it holds may have expired (kind: freeze | paylater;
    number: the request number the provider's order was opened with)."""
    if not waiting or not item.get("provider_params"):
        return item
    now = deps.clock.now()
    issued = item.get("provider_params_at") or item.get("updated_at") or item.get("created_at")
    if issued and now - parse_iso(issued) < STALE_AFTER:
        return item
    try:
        fresh = deps.provider(item["provider"]).fresh_params(kind, number)
    except Exception:  # noqa: BLE001 - the old params are still shown; the member can ask again
        logger.exception("fresh provider params failed", extra={"id": item.get("id")})
        return item
    if not fresh:
        return item
    try:
        deps.table.update(
            item["pk"],
            item["sk"],
            set={"provider_params": fresh, "provider_params_at": iso(now)},
            **expect({"status": item["status"]}),
        )
    except ConditionFailed:
        return item  # moved on meanwhile: the params are of no use any more
    return {**item, "provider_params": fresh, "provider_params_at": iso(now)}
