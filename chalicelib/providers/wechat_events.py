"""WeChat Pay notification events in neutral form (the same kinds the sandbox sends)."""
from __future__ import annotations

from typing import Any

from . import ledger
from .base import Notification


def transaction_id(collection: dict) -> str | None:
    """The payment transaction behind a Pay Score collection (what a refund names)."""
    details = collection.get("details") or []
    return next((d.get("transaction_id") for d in details if d.get("transaction_id")), None)


def _origin(provider: Any, number: str | None) -> tuple[str | None, dict]:
    """Our request number behind a WeChat order/contract number (hashed numbers are aliased)."""
    op = ledger.recall(provider.deps.table, provider.name, number) or {}
    if op.get("kind") == "alias":
        return op.get("of"), ledger.recall(provider.deps.table, provider.name, op.get("of")) or {}
    return (op.get("of") if op.get("kind") in ("consent", "deposit") else None) or number, op


def to_notification(provider: Any, event: dict, resource: dict) -> Notification:
    kind_of = event.get("event_type", "")
    event_id = str(event["id"])
    if kind_of in ("PAYSCORE.USER_OPEN_SERVICE", "PAYSCORE.USER_CLOSE_SERVICE"):
        number = resource.get("authorization_code") or resource.get("out_contract_code")
        out_request_no, op = _origin(provider, number)
        granted = kind_of.endswith("OPEN_SERVICE")
        return Notification(event_id, "credit.granted" if granted else "credit.declined", out_request_no,
                            data={"provider_user_id": resource.get("openid") or op.get("member_ref"),
                                  "band": provider.settings.wechat_band if granted else None,
                                  "withdrawn": not granted})
    if kind_of == "PAYSCORE.USER_CONFIRM":
        number = resource.get("out_order_no")
        out_request_no, op = _origin(provider, number)
        if op.get("kind") == "paylater":
            return Notification(event_id, "paylater.confirmed", out_request_no, number,
                                data={"order_id": resource.get("order_id")})
        return Notification(event_id, "freeze.succeeded", out_request_no, number,
                            (resource.get("risk_fund") or {}).get("amount"),
                            data={"expires_at": op.get("expires_at"), "order_id": resource.get("order_id")})
    if kind_of == "PAYSCORE.USER_PAID":
        number = resource.get("out_order_no")
        order = ledger.recall(provider.deps.table, provider.name, f"order-{number}") or {}
        paid_by = transaction_id(resource.get("collection") or {})
        return Notification(event_id, "charge.succeeded", order.get("last_capture") or number, paid_by or number,
                            resource.get("total_amount"), data={"collection": resource.get("collection")})
    if kind_of.startswith("TRANSACTION."):
        out_request_no, op = _origin(provider, resource.get("out_trade_no"))
        paid = resource.get("trade_state") == "SUCCESS"
        family = "deposit" if op.get("kind") == "deposit" else "charge"
        kind = f"{family}.{'paid' if paid and family == 'deposit' else 'succeeded' if paid else 'failed'}"
        return Notification(event_id, kind, out_request_no, resource.get("transaction_id"),
                            (resource.get("amount") or {}).get("total"))
    return Notification(event_id, f"wechat.{kind_of or 'unknown'}", data={"summary": event.get("summary")})
