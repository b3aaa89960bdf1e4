"""WeChat Pay notifications in neutral form (the kinds the services handle).

Event types and resources: essensoft/paylink V3/Notify (WeChatPayScoreUserOpenOrCloseNotify: openid,
user_service_status, authorization_code, out_request_no; WeChatPayScoreUserConfirmNotify: out_order_no, state,
risk_fund, order_id; WeChatPayScoreUserPaidNotify: out_order_no, total_amount, collection), refund notifications
(pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/refunds/refund-result-notice.html: REFUND.SUCCESS /
REFUND.ABNORMAL / REFUND.CLOSED; resource out_refund_no, refund_id, refund_status, amount.refund), JSAPI payments
(TRANSACTION.SUCCESS: out_trade_no, transaction_id, trade_state, amount.total).
"""

from __future__ import annotations

from typing import Any

from . import ledger
from .base import Notification
from .wechat_orders import learn_confirmation, paid_by


def _origin(provider: Any, number: str | None) -> tuple[str | None, dict]:
    """Our request number behind a WeChat order/code number (hashed numbers are aliased)."""
    op = ledger.recall(provider.deps.table, provider.name, number) or {}
    if op.get("kind") == "alias":
        return op.get("of"), ledger.recall(provider.deps.table, provider.name, op.get("of")) or {}
    return (op.get("of") if op.get("kind") in ("consent", "deposit") else None) or number, op


def _service(provider: Any, event_id: str, kind_of: str, resource: dict) -> Notification:
    number = resource.get("authorization_code") or resource.get("out_contract_code") or resource.get("out_request_no")
    out_request_no, op = _origin(provider, number)
    user = resource.get("openid") or op.get("member_ref")
    if kind_of.endswith("CLOSE_SERVICE"):  # the user closed the service in WeChat: withdraw the snapshot
        return Notification(event_id, "credit.withdrawn", out_request_no, data={"provider_user_id": user})
    return Notification(
        event_id,
        "credit.granted",
        out_request_no,
        data={"provider_user_id": user, "band": provider.settings.wechat_band},
    )


def _confirmed(provider: Any, event_id: str, resource: dict) -> Notification:
    number = resource.get("out_order_no")
    _, op = _origin(provider, number)
    if op.get("kind") in ("freeze", "paylater"):
        learn_confirmation(provider, op["order_no"], {"state": "DOING", "state_description": "USER_CONFIRM"})
    if op.get("kind") == "paylater":
        return Notification(
            event_id, "paylater.confirmed", op.get("of") or number, number, data={"order_id": resource.get("order_id")}
        )
    return Notification(
        event_id,
        "freeze.succeeded",
        op.get("request_no") or number,
        number,
        (resource.get("risk_fund") or {}).get("amount"),
        data={"expires_at": None, "order_id": resource.get("order_id")},  # no lapse: see freeze()
    )


def _paid(provider: Any, event_id: str, resource: dict) -> Notification:
    """USER_PAID: a pay-later order's charge is collected (charge.succeeded under the charge that completed it);
    a rental order's collection needs nothing from the services (acknowledged as wechat.*)."""
    number = resource.get("out_order_no")
    _, op = _origin(provider, number)
    done = ledger.recall(provider.deps.table, provider.name, f"complete-{op.get('order_no') or number}") or {}
    if op.get("kind") != "paylater":
        return Notification(
            event_id, "wechat.PAYSCORE.USER_PAID", done.get("for_request"), number, resource.get("total_amount")
        )
    return Notification(
        event_id,
        "charge.succeeded",
        done.get("for_request") or number,
        paid_by(resource) or number,
        resource.get("total_amount"),
        data={"collection": resource.get("collection")},
    )


def to_notification(provider: Any, event: dict, resource: dict) -> Notification:
    kind_of = event.get("event_type", "")
    event_id = str(event["id"])
    if kind_of in ("PAYSCORE.USER_OPEN_SERVICE", "PAYSCORE.USER_CLOSE_SERVICE"):
        return _service(provider, event_id, kind_of, resource)
    if kind_of == "PAYSCORE.USER_CONFIRM":
        return _confirmed(provider, event_id, resource)
    if kind_of == "PAYSCORE.USER_PAID":
        return _paid(provider, event_id, resource)
    if kind_of.startswith("REFUND."):
        ok = resource.get("refund_status") == "SUCCESS"
        return Notification(
            event_id,
            "refund.succeeded" if ok else "refund.failed",
            resource.get("out_refund_no"),
            resource.get("refund_id"),
            (resource.get("amount") or {}).get("refund"),
            data={"refund_status": resource.get("refund_status")},
        )
    if kind_of.startswith("TRANSACTION."):
        out_request_no, op = _origin(provider, resource.get("out_trade_no"))
        paid = resource.get("trade_state") == "SUCCESS"
        family = "deposit" if op.get("kind") == "deposit" else "charge"
        kind = f"{family}.{'paid' if paid and family == 'deposit' else 'succeeded' if paid else 'failed'}"
        return Notification(
            event_id, kind, out_request_no, resource.get("transaction_id"), (resource.get("amount") or {}).get("total")
        )
    return Notification(event_id, f"wechat.{kind_of or 'unknown'}", data={"summary": event.get("summary")})
