"""The daily bill reconciliation (PRODUCT.md 8): one provider's bill of one day against our ledger of it.

One report item per day and provider, `RECON#<day>` / `<provider>`: a rerun computes the same report from
the same bill and ledger, and a report identical to the stored one changes nothing (no second alert).
A mismatch raises `reconciliation.mismatched` (its audit entry is the event, in the report's transaction).
A bill that cannot be had is recorded `unavailable`, but never replaces a report made from a real bill.
Round trips per provider and day: the bill (the sandbox: one Query), our ledger (one Query per UTC day the
bill's day overlaps, per page: one for the sandbox, two for Beijing-day bills), one conditional write.

A report is named by its bill (SOURCES): a provider's own name for its trade bill, and `wechat_payscore` for
the Pay Score merchant bill, matched against our WeChat ledger's Pay Score lines only (the adapter's
service_bill_scope: charges, and captures of rentals held by a Pay Score order). The trade bill already carries
those collections, so the two bills are two witnesses of the same money: each is its own report and each
movement is counted once in each, never summed across them. Refunds are reconciled by the trade bill alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from ...clock import iso
from ...domain import reconciliation as rules
from ...domain.errors import ProviderError, ProviderNotConfigured
from ...domain.reconciliation import BillLine
from ...log import logger
from ...ports import Deps
from ...providers.base import BillUnavailable, CreditProvider
from ...store.dynamo import ConditionFailed
from ...store.uow import UnitOfWork
from . import ledger

REPORT_FIELDS = ("provider", "status", "matched", "only_provider", "only_ours", "amount_mismatch", "reason")


def _every_line(adapter: CreditProvider, ours: Iterable[BillLine]) -> Iterable[BillLine]:
    return ours


@dataclass(frozen=True)
class BillSource:
    """Which adapter serves a report's bill, how it is fetched, and which of our ledger lines it covers."""

    provider: str
    fetch: Callable[[CreditProvider, date], list[BillLine]]
    scope: Callable[[CreditProvider, Iterable[BillLine]], Iterable[BillLine]] = _every_line  # our lines it covers


def _trade_bill(adapter: CreditProvider, day: date) -> list[BillLine]:
    return adapter.bill(day)


def _service_bill(adapter: CreditProvider, day: date) -> list[BillLine]:
    return adapter.service_bill(day)


def _service_scope(adapter: CreditProvider, ours: Iterable[BillLine]) -> list[BillLine]:
    return adapter.service_bill_scope(ours)


SOURCES: dict[str, BillSource] = {
    "wechat_payscore": BillSource("wechat", _service_bill, _service_scope),
}


def source(name: str) -> BillSource:
    """The bill behind report `name`: a provider's trade bill unless SOURCES names another."""
    return SOURCES.get(name) or BillSource(name, _trade_bill)


class _Unchanged(Exception):
    """The stored report is this one already (a rerun), or a real one that an unavailable bill keeps."""


def _digest(report: dict) -> str:
    return hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()


def reconcile(deps: Deps, provider: str, day: str) -> dict:
    """Fetch the bill of report `provider` (SOURCES) of `day` (YYYY-MM-DD), match it with our ledger, store
    the report."""
    bill = source(provider)
    try:
        adapter = deps.provider(bill.provider)
        theirs = bill.fetch(adapter, date.fromisoformat(day))
        start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) - timedelta(
            hours=adapter.bill_utc_offset_hours
        )
        ours = bill.scope(adapter, ledger.between(deps.table, bill.provider, start, start + timedelta(days=1)))
        report = rules.match(provider, theirs, ours)
    except ProviderNotConfigured:
        raise  # not offered here: no report at all (the job skips it)
    except (BillUnavailable, ProviderError) as exc:
        logger.warning("bill unavailable", extra={"provider": provider, "day": day, "reason": str(exc)})
        report = rules.unavailable(provider, str(exc)[:200] or type(exc).__name__)
    digest = _digest(report)
    uow = UnitOfWork(deps.table, deps.clock.now(), "system")
    condition = (
        "attribute_not_exists(pk)" if report["status"] == "unavailable" else "attribute_not_exists(pk) OR digest <> :d"
    )
    uow.put(
        {
            "pk": f"RECON#{day}",
            "sk": provider,
            "type": "reconciliation",
            "date": day,
            **report,
            "digest": digest,
            "checked_at": iso(uow.now),
        },
        condition=condition,
        values=None if report["status"] == "unavailable" else {":d": digest},
        on_fail=_Unchanged(),
    )
    if report["status"] == "mismatched":
        uow.audit(
            f"reconciliation#{provider}_{day}",
            "mismatched",
            after={
                "status": "mismatched",
                "matched": report["matched"],
                "only_provider": len(report["only_provider"]),
                "only_ours": len(report["only_ours"]),
                "amount_mismatch": len(report["amount_mismatch"]),
            },
            data={"date": day, "provider": provider},
            event="reconciliation.mismatched",
        )
    try:
        uow.commit()
    except (_Unchanged, ConditionFailed):
        pass
    return report


def report(table: Any, day: str) -> dict:
    """GET /v1/admin/reconciliation: every provider's stored report of `day` (one Query)."""
    items = table.query("pk = :p", {":p": f"RECON#{day}"})
    return {"date": day, "providers": [{k: it[k] for k in REPORT_FIELDS if k in it} for it in items]}
