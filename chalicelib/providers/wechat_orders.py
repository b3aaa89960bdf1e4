"""Pay Score service orders (需确认模式) as WeChat runs them: CREATED -> DOING/USER_CONFIRM (the user confirms)
-> DOING/MCH_COMPLETE with collection USER_PAYING (we complete: every amount at once) -> DONE/USER_PAID
(Pay Score collects; /pay asks again; /sync records an offline payment), or REVOKED (cancel) / EXPIRED.
Every operation asks the order's state first, so a repeat after a lost answer never sends a second,
different request (WeChat refuses a re-entry with other parameters: 订单重入参数校验失败).

References: minibear2021/wechatpayv3 wechatpayv3/payscore.py (payscore_query/complete/cancel/pay/sync: paths and
bodies), essensoft/paylink V3/Domain (WeChatPayScoreServiceOrderQueryModel, ...OutOrderNoCompleteBodyModel,
...OutOrderNoCancelBodyModel, ...PayBodyModel, ...SyncBodyModel, TimeRange, Collection, CollectionDetail),
pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/service-order/{cancel,collect}-service-order.html.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Sequence
from urllib.parse import urlencode

from ..clock import iso, parse_iso
from ..domain.errors import ProviderError
from . import ledger
from . import wechat_format as fmt
from .base import OpResult
from .wechat_params import Item, completion

END_MARGIN = timedelta(seconds=5)  # end_time may not be later than WeChat's receipt of /complete


def common(p: Any, service: str) -> dict[str, str]:
    # appid, service_id: PL ...CompleteBodyModel / ...CancelBodyModel / ...PayBodyModel / ...SyncBodyModel
    return {"appid": p.settings.wechat_appid, "service_id": service}


def query(p: Any, number: str, service: str) -> dict | None:
    """GET /v3/payscore/serviceorder with exactly one of out_order_no/query_id (PL ServiceOrderQueryModel).
    None: WeChat never created it. A refusal says nothing about the order: ProviderError (ask again later)."""
    params = urlencode({"service_id": service, "appid": p.settings.wechat_appid, "out_order_no": number})
    status, answer = p.client.call("GET", f"/v3/payscore/serviceorder?{params}")
    if status == 404:
        return None
    if status >= 300:
        raise ProviderError(f"wechat pay order query refused ({answer.get('code') or status})")
    return answer


def phase(answer: dict | None) -> str:
    """created | confirmed | collecting | done | revoked | expired | missing, from state + state_description
    (PL QueryResponse: CREATED, DOING USER_CONFIRM / MCH_COMPLETE, DONE, REVOKED, EXPIRED)."""
    if answer is None:
        return "missing"
    state, description = answer.get("state"), answer.get("state_description")
    if state == "DOING":
        return "collecting" if description == "MCH_COMPLETE" else "confirmed"
    return {"CREATED": "created", "DONE": "done", "REVOKED": "revoked", "EXPIRED": "expired"}.get(
        state or "", "created"
    )


def payment(answer: dict) -> dict | None:
    """The payment detail behind a collected order (PL CollectionDetail: seq, amount, paid_type NEWTON,
    transaction_id), None before it is paid or when paid another way (MCH, no transaction)."""
    details = (answer.get("collection") or {}).get("details") or []
    return next((d for d in details if d.get("transaction_id")), None)


def paid_by(answer: dict) -> str | None:
    """The payment transaction behind a collected order (PL CollectionDetail transaction_id: NEWTON, > 0)."""
    detail = payment(answer)
    return detail["transaction_id"] if detail else None


def collection(answer: dict | None, number: str) -> OpResult:
    """What a completed order's collection says (PL Collection state USER_PAYING / USER_PAID)."""
    ph = phase(answer)
    if ph == "done":
        return OpResult("succeeded", paid_by(answer or {}) or number)
    if ph in ("revoked", "expired", "missing"):
        return OpResult("failed", number, (answer or {}).get("state") or "ORDER_NOT_EXIST")
    return OpResult("pending", number)


def learn_confirmation(p: Any, number: str, answer: dict | None) -> None:
    """Remember when we first knew the user had confirmed: the service started no later than that."""
    if phase(answer) in ("confirmed", "collecting", "done"):
        record = ledger.recall(p.deps.table, p.name, number) or {}
        if record and not record.get("confirmed_at"):
            ledger.note(p.deps.table, p.name, number, confirmed_at=iso(p.deps.clock.now()))


def _end_time(p: Any, number: str) -> str:
    """time_range.end_time at completion: after the service start, not later than now (PL TimeRange end_time)."""
    now = p.deps.clock.now().replace(microsecond=0)
    end = now - END_MARGIN
    confirmed = (ledger.recall(p.deps.table, p.name, number) or {}).get("confirmed_at")
    if confirmed:
        end = max(end, parse_iso(confirmed).replace(microsecond=0) + timedelta(seconds=1))
    return fmt.wechat_time(min(end, now))


def complete(
    p: Any, number: str, service: str, payments: Sequence[Item], *, for_request: str, discounts: Sequence[Item] = ()
) -> OpResult:
    """One /complete with every amount (succeeded: completed, Pay Score collects). Idempotent: a completed order
    is reported as such; a body sent without a clear answer is re-sent byte-identical."""
    answer = query(p, number, service)
    learn_confirmation(p, number, answer)
    ph = phase(answer)
    if ph in ("collecting", "done"):
        return OpResult("succeeded", number)
    if ph != "confirmed":
        return OpResult("failed", number, (answer or {}).get("state") or "ORDER_NOT_EXIST")
    key = f"complete-{number}"
    record = ledger.recall(p.deps.table, p.name, key)
    if record and record.get("sent"):
        body = json.loads(record["body"])
    else:  # time_range.end_time: required when the order was created without one (PL CompleteBodyModel)
        body = {
            **common(p, service),
            **completion(payments, discounts),
            "time_range": {"end_time": _end_time(p, number)},
        }
        ledger.remember(p.deps.table, p.name, key, "complete", order_no=number)
    ledger.note(
        p.deps.table,
        p.name,
        key,
        body=json.dumps(body, ensure_ascii=False, sort_keys=True),
        sent=True,
        for_request=for_request,
        total=body["total_amount"],
    )
    status, out = p.client.call("POST", f"/v3/payscore/serviceorder/{number}/complete", body)
    if status < 300 or phase(query(p, number, service)) in ("collecting", "done"):
        return OpResult("succeeded", number)
    ledger.note(p.deps.table, p.name, key, sent=False)  # a clear refusal: nothing was done, rebuild next time
    return OpResult("failed", number, out.get("code") or f"http_{status}")


def cancel(p: Any, number: str, service: str, reason: str) -> OpResult:
    """Cancel an order nothing was taken from (CREATED or DOING/USER_CONFIRM). Never created, REVOKED or EXPIRED
    is already done; a completed order is never cancelled here (that would void what the user owes)."""
    answer = query(p, number, service)
    ph = phase(answer)
    if ph in ("missing", "revoked", "expired"):
        return OpResult("succeeded", number)
    if ph in ("collecting", "done"):
        return OpResult("failed", number, "ORDER_COMPLETED")
    body = {**common(p, service), "reason": reason}  # reason <= 30: PL CancelBodyModel
    status, out = p.client.call("POST", f"/v3/payscore/serviceorder/{number}/cancel", body)
    if status < 300 or phase(query(p, number, service)) in ("revoked", "expired"):
        return OpResult("succeeded", number)
    return OpResult("failed", number, out.get("code") or f"http_{status}")


def request_payment(p: Any, number: str, service: str) -> OpResult:
    """POST .../pay: ask Pay Score to collect a completed order still USER_PAYING (DOC collect-service-order)."""
    answer = query(p, number, service)
    if phase(answer) != "collecting":
        return collection(answer, number)
    status, out = p.client.call("POST", f"/v3/payscore/serviceorder/{number}/pay", common(p, service))
    if status < 300:
        return OpResult("pending", number)
    return collection(query(p, number, service), number)


def record_paid(p: Any, number: str, service: str, paid_at: datetime) -> OpResult:
    """POST .../sync type Order_Paid: the user paid us another way; the order becomes DONE (PL SyncBodyModel)."""
    answer = query(p, number, service)
    if phase(answer) != "collecting":
        return collection(answer, number)
    status, out = p.client.call(
        "POST",
        f"/v3/payscore/serviceorder/{number}/sync",
        {**common(p, service), "type": "Order_Paid", "detail": {"paid_time": fmt.wechat_time(paid_at)}},
    )
    if status < 300:
        return OpResult("succeeded", number)
    return OpResult("failed", number, out.get("code") or f"http_{status}")
