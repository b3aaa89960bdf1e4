"""Pay Score field limits and the bodies built under them, and the mini-program's signed parameters.

Limits (essensoft/paylink V3/Domain: WeChatPayScoreServiceOrderBodyModel service_introduction <= 20,
PostPayment name <= 20 / description <= 30 / at most 100, PostDiscount at most 30, RiskFund description <= 30,
WeChatPayScoreServiceOrderOutOrderNoCancelBodyModel reason <= 30; minibear2021/wechatpayv3 payscore.py
payscore_cancel/payscore_modify reason "最多30个字符"). WeChat counts characters, not bytes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Iterable, Sequence

from . import wechat_format

INTRODUCTION, NAME, DESCRIPTION, REASON = 20, 20, 30, 30
MAX_PAYMENTS, MAX_DISCOUNTS = 100, 30
# What the user reads in WeChat when an order ends without a charge (cancel reason, <= 30 characters).
REASON_NOTHING_OWED = "订单已结束，未产生费用"  # "order ended, nothing charged"
REASON_CANCELLED = "订单已取消，未产生费用"  # "order cancelled, nothing charged"
ORDER_NO = re.compile(r"^[A-Za-z0-9_\-|*]{6,32}$")  # PL ServiceOrderBodyModel out_order_no: 数字、大小写字母_-|*


def order_no(out_request_no: str) -> str:
    """Pay Score's out_order_no allows 6-32 of [A-Za-z0-9_-|*]; anything else is hashed (and aliased)."""
    if ORDER_NO.match(out_request_no):
        return out_request_no
    return "cf" + hashlib.sha256(out_request_no.encode()).hexdigest()[:30]


@dataclass(frozen=True)
class Item:
    """One post_payments / post_discounts line: what the user is shown for an amount."""

    name: str
    amount: int
    description: str = ""


def clip(text: str, most: int) -> str:
    """At most `most` characters (WeChat refuses longer: PARAM_ERROR)."""
    return (text or "").strip()[:most]


# Our close reasons (codes) as the sentence the user reads in WeChat's cancellation message.
USER_REASONS = {
    "cancelled": REASON_CANCELLED,
    "rejected": "订单未通过审核，未产生费用",
    "waived": "费用已免除，订单已取消",
    "team_failed": "拼团未成功，未产生费用",
    "not_confirmed": "订单未确认，已取消",
}


def reason(text: str, fallback: str = REASON_CANCELLED) -> str:
    """A cancel/modify reason the user reads: never empty, at most 30 characters; our reason codes
    (snake_case) become sentences, an unknown code the general one."""
    text = (text or "").strip()
    if re.fullmatch(r"[a-z_]{1,24}", text):
        return USER_REASONS.get(text, fallback)
    return clip(text, REASON) or fallback


def _unique(names: Iterable[str]) -> list[str]:
    """Pay Score refuses two lines of one order with the same name (PostPayment.cs 相同订单号下不能出现相同的付费项目名称)."""
    out: list[str] = []
    for name in names:
        base = candidate = clip(name, NAME) or "费用"
        n = 1
        while candidate in out:
            n += 1
            candidate = clip(base, NAME - 1 - len(str(n))) + f" {n}"
        out.append(candidate)
    return out


def lines(items: Sequence[Item], most: int, rest_name: str) -> list[dict]:
    """post_payments / post_discounts: named (unique, <= 20), described (<= 30); lines beyond `most` are folded
    into one last line so the sum is kept."""
    items = list(items)
    if len(items) > most:
        tail = items[most - 1 :]
        items = items[: most - 1] + [Item(rest_name, sum(i.amount for i in tail), f"{len(tail)} items")]
    names = _unique(i.name for i in items)
    return [
        {
            "name": n,
            "amount": int(i.amount),
            **({"description": clip(i.description, DESCRIPTION)} if clip(i.description, DESCRIPTION) else {}),
        }
        for n, i in zip(names, items, strict=True)
    ]


def completion(payments: Sequence[Item], discounts: Sequence[Item] = ()) -> dict:
    """The money part of /complete: itemised lines and total_amount = payments - discounts (PL CompleteBodyModel)."""
    body: dict = {"post_payments": lines(payments, MAX_PAYMENTS, "其他费用")}
    if discounts:
        body["post_discounts"] = lines(discounts, MAX_DISCOUNTS, "其他优惠")
    total = sum(p["amount"] for p in body["post_payments"]) - sum(d["amount"] for d in body.get("post_discounts", []))
    if total < 0:
        raise ValueError("discounts exceed the payments")
    body["total_amount"] = total
    return body


def use_params(mch_id: str, package: str, apiv2_key: str, timestamp: int, nonce: str | None = None) -> dict:
    """wx.openBusinessView({businessType: 'wxpayScoreUse', extraData}) for a need-confirm order: mch_id, package
    (from the create answer, valid 1 h), timestamp, nonce_str, sign_type HMAC-SHA256, sign over those five
    (pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/applets-confirm.html; docs.taro.zone openBusinessView
    ScoreUsedExtraData)."""
    extra = {
        "mch_id": mch_id,
        "package": package,
        "timestamp": str(timestamp),
        "nonce_str": nonce or secrets.token_hex(16),
        "sign_type": "HMAC-SHA256",
    }
    extra["sign"] = wechat_format.apiv2_sign(extra, apiv2_key)
    return {"businessType": "wxpayScoreUse", "extraData": extra}


def enable_params(token: str) -> dict:
    """wx.openBusinessView({businessType: 'wxpayScoreEnable', extraData: {apply_permissions_token}})
    (docs.taro.zone openBusinessView ScoreEnableExtraData; the token comes from POST /v3/payscore/permissions)."""
    return {"businessType": "wxpayScoreEnable", "extraData": {"apply_permissions_token": token}}
