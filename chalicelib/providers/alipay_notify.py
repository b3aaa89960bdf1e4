"""Alipay asynchronous notifications, verified over the raw form, in provider-neutral form.

Fields read: fund_auth_freeze (notify_type, out_request_no, auth_no, amount, status, operation_id),
trade_status_sync (out_trade_no, trade_no, trade_status, total_amount, gmt_payment, refund_fee, out_biz_no),
the message service's credit-order change (msg_method, biz_content: out_order_no, credit_biz_order_id,
order_status): Alipay's notification docs (异步通知说明; the official vector tests/vectors/alipay_trade_status_sync.json)
and ZhimaCreditPayafteruseCreditbizorderQueryResponse.cs for the order statuses.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain.errors import InvalidSignature
from . import alipay_format as fmt
from . import ledger
from .base import Ack, Notification

ACK = Ack(200, "success", "text/plain")  # "success" stops Alipay's retries
CREDIT_ORDER_CHANGED = "zhima.credit.payafteruse.creditbizorder.changed"
FREEZE_STATUS = {"SUCCESS": "succeeded", "CLOSED": "failed", "INIT": "pending"}
TRADE_STATUS = {
    "TRADE_SUCCESS": "succeeded",
    "TRADE_FINISHED": "succeeded",
    "TRADE_CLOSED": "failed",
    "WAIT_BUYER_PAY": "pending",
}


def verify(provider: Any, raw_body: bytes) -> Notification:
    params = fmt.parse_form(raw_body)
    provider.client.verify_notification(params)
    app_id = provider.settings.alipay_app_id
    if app_id and params.get("app_id") != app_id:
        raise InvalidSignature("alipay notification for another app")
    return to_notification(provider, params)


def to_notification(provider: Any, params: dict[str, str]) -> Notification:
    """A verified notification in neutral form; kinds no handler knows are acknowledged and logged."""
    notify_type = params.get("notify_type", "")
    if notify_type == "fund_auth_freeze":
        return _freeze(provider, params)
    if notify_type == "trade_status_sync":
        return _trade(provider, params)
    if params.get("msg_method") == CREDIT_ORDER_CHANGED:
        return _credit_order(provider, params)
    return Notification(
        _notify_id(params),
        f"alipay.{notify_type or 'unknown'}",
        provider.ours(params.get("out_request_no") or params.get("out_trade_no")),
        data=dict(params),
    )


def _freeze(provider: Any, params: dict[str, str]) -> Notification:
    ours = provider.ours(params.get("out_request_no"))
    op = ledger.recall(provider.deps.table, provider.name, ours) or {}
    status = FREEZE_STATUS.get(params.get("status", ""), "pending")
    kind = {"succeeded": "freeze.succeeded", "failed": "freeze.failed"}.get(status, "freeze.pending")
    return Notification(
        _notify_id(params),
        kind,
        ours,
        params.get("auth_no"),
        fmt.fen(params.get("amount")),
        data={
            "expires_at": op.get("expires_at"),
            "operation_id": params.get("operation_id"),
            "reason": None if status == "succeeded" else params.get("status"),
        },
    )


def _trade(provider: Any, params: dict[str, str]) -> Notification:
    out_trade_no = provider.ours(params.get("out_trade_no"))
    if params.get("refund_fee") or params.get("out_biz_no"):
        # A refund's echo on the trade: out_biz_no is the refund's out_request_no.
        number = provider.ours(params.get("out_biz_no")) or out_trade_no
        return Notification(
            _notify_id(params),
            "refund.succeeded",
            number,
            params.get("trade_no"),
            fmt.fen(params.get("refund_fee")),
            data={"trade_status": params.get("trade_status")},
        )
    op = ledger.recall(provider.deps.table, provider.name, out_trade_no) or {}
    family = "deposit" if op.get("kind") == "deposit" else "charge"
    status = TRADE_STATUS.get(params.get("trade_status", ""), "pending")
    outcome = {"succeeded": "paid" if family == "deposit" else "succeeded", "failed": "failed"}
    return Notification(
        _notify_id(params),
        f"{family}.{outcome.get(status, 'pending')}",
        out_trade_no,
        params.get("trade_no"),
        fmt.fen(params.get("total_amount")),
        data={
            "trade_status": params.get("trade_status"),
            "buyer_id": params.get("buyer_id"),
            "paid_at": params.get("gmt_payment"),
        },
    )


def _credit_order(provider: Any, params: dict[str, str]) -> Notification:
    """INIT is the user's confirmation, TRADE_CLOSED a refusal (or a cancellation)."""
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError as exc:
        raise InvalidSignature("alipay message without readable biz_content") from exc
    status = {"INIT": "paylater.confirmed", "TRADE_CLOSED": "paylater.refused"}.get(biz.get("order_status"))
    return Notification(
        _notify_id(params),
        status or f"alipay.credit_order.{biz.get('order_status')}",
        provider.ours(biz.get("out_order_no")),
        biz.get("credit_biz_order_id"),
        data={"status": biz.get("order_status")},
    )


def _notify_id(params: dict[str, str]) -> str:
    """Alipay's notify_id: what a retried notification repeats, so what we dedupe on."""
    if not params.get("notify_id"):
        raise InvalidSignature("alipay notification without notify_id")
    return params["notify_id"]
