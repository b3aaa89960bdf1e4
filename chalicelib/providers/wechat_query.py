"""What WeChat knows of one of our requests (reconciliation of lost answers and notifications).

References: minibear2021/wechatpayv3 payscore.py payscore_query / payscore_permission_query; wechatpay-go
services/refunddomestic QueryByOutRefundNo and models.go Status (SUCCESS, CLOSED, PROCESSING, ABNORMAL);
services/payments/jsapi QueryOrderByOutTradeNo (trade_state).
"""

from __future__ import annotations

from typing import Any

from . import ledger
from . import wechat_orders as orders
from .base import OpResult
from .wechat_params import order_no

TRADE_STATE = {
    "SUCCESS": "succeeded",
    "CLOSED": "failed",
    "PAYERROR": "failed",
    "REVOKED": "failed",
    "NOTPAY": "pending",
    "USERPAYING": "pending",
}
REFUND_STATE = {"SUCCESS": "succeeded", "PROCESSING": "pending", "CLOSED": "failed", "ABNORMAL": "failed"}


def refund_state(answer: dict) -> OpResult:
    state = REFUND_STATE.get(answer.get("status", ""), "pending")
    return OpResult(state, answer.get("refund_id"), answer.get("status") if state == "failed" else None)


def query(p: Any, out_request_no: str) -> OpResult | None:
    op = ledger.recall(p.deps.table, p.name, out_request_no) or ledger.recall(
        p.deps.table, p.name, order_no(out_request_no)
    )
    if op and op.get("kind") == "alias":
        op = ledger.recall(p.deps.table, p.name, op["of"])
    if op is None:
        return None
    kind = op["kind"]
    if kind in ("freeze", "paylater"):
        answer = orders.query(p, op["order_no"], p._service(op))
        orders.learn_confirmation(p, op["order_no"], answer)
        status = {"created": "pending", "revoked": "failed", "expired": "failed", "missing": None}.get(
            orders.phase(answer), "succeeded"
        )
        return OpResult(status, op["order_no"]) if status else None  # no lapse: see WechatProvider.freeze
    if kind == "charge":
        record, service = p._order(op["order_no"])
        return orders.collection(orders.query(p, record["order_no"], service), record["order_no"])
    if kind == "refund":
        status, answer = p.client.call("GET", f"/v3/refund/domestic/refunds/{op['out_request_no']}")
        if status == 404:
            return None
        return refund_state(answer) if status < 300 else OpResult("pending", reason=answer.get("code"))
    if kind == "deposit":
        status, answer = p.client.call(
            "GET", f"/v3/pay/transactions/out-trade-no/{op['out_request_no']}?mchid={p.settings.wechat_mch_id}"
        )
        if status == 404:
            return None
        return (
            OpResult(TRADE_STATE.get(answer.get("trade_state", ""), "pending"), answer.get("transaction_id"))
            if status < 300
            else OpResult("pending", reason=answer.get("code"))
        )
    if kind == "consent":
        return _consent(p, op)
    return OpResult(op["status"], op.get("order_no"), op.get("reason")) if op.get("status") else None


def _consent(p: Any, op: dict) -> OpResult | None:
    """A consent whose notification was lost: AVAILABLE means the user opened the service."""
    status, answer = p.client.call(
        "GET",
        f"/v3/payscore/permissions/authorization-code/{op['out_request_no']}"
        f"?service_id={p.settings.wechat_deposit_service}",
    )
    if status == 404:
        return None
    state = answer.get("authorization_state")
    return OpResult(
        {"AVAILABLE": "succeeded", "UNAVAILABLE": "failed"}.get(state or "", "pending"), answer.get("openid")
    )
