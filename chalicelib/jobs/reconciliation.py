"""reconcile_bills: daily, one message per provider for the previous day (UTC); the worker fetches that
provider's bill and matches it with our ledger (services/ops/reconciliation.py). A provider without its
settings is skipped; a rerun of the same day yields the same report and no second alert."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..domain.errors import ProviderNotConfigured
from ..log import logger
from ..ports import Deps
from ..services.ops import reconciliation

QUEUE = "bill-reconciliations"
REAL_PROVIDERS = ("alipay", "wechat", "wechat_payscore")  # wechat_payscore: the Pay Score merchant bill


def reconcile_bills(deps: Deps, now: datetime) -> int:
    day = (now - timedelta(days=1)).strftime("%Y-%m-%d")
    names = [*(("sandbox",) if deps.settings.sandbox_enabled else ()), *REAL_PROVIDERS]
    deps.queues.send_many(QUEUE, [{"provider": name, "day": day} for name in names])
    return len(names)


def reconcile_one(deps: Deps, body: dict) -> str:
    try:
        report = reconciliation.reconcile(deps, body["provider"], body["day"])
    except ProviderNotConfigured:
        return "not_configured"
    if report["status"] != "matched":
        logger.warning(
            "bill reconciliation", extra={"provider": body["provider"], "day": body["day"], "status": report["status"]}
        )
    return str(report["status"])
