"""What WeChat Pay (APIv3, Pay Score 需确认模式, domestic refunds) accepts, as a rule table with sources.

Written from the references, never from our adapter. Each rule has an id the strict fake records in
`violations` when a request breaks it. Sources (short names used below):
  GO     wechatpay-apiv3/wechatpay-go (core/client.go, core/consts/const.go, core/auth/validators/
         wechat_pay_validator.go, core/downloader/downloader.go, services/refunddomestic/{api_refunds,models}.go,
         services/certificates/models.go)
  JAVA   wechatpay-apiv3/wechatpay-java (core/.../certificate/CertificateDownloader.java: NOT_FOUND = public-key mode)
  PY     minibear2021/wechatpayv3 wechatpayv3/payscore.py (payscore_create/query/cancel/modify/complete/pay/sync)
  PL     essensoft/paylink src/Essensoft.Paylink.WeChatPay/V3/Domain/*.cs (WeChatPayScoreServiceOrderBodyModel,
         ...CompleteBodyModel, ...ModifyBodyModel, ...CancelBodyModel, ...PayBodyModel, ...SyncBodyModel,
         ...QueryModel, PostPayment, PostDiscount, RiskFund, TimeRange, Collection, CollectionDetail)
  DOC    pay.weixin.qq.com/docs/merchant/apis/weixin-pay-score/... (service-order/cancel-service-order.html,
         service-order/collect-service-order.html, applets-confirm.html, refunds/refund-result-notice.html) and
         docs/partner/apis/partner-weixin-pay-score/partner-service-order/collect-partner-service-order.html
         (error-code table: PARAM_ERROR, INVALID_REQUEST, SIGN_ERROR, INVALID_ORDER_STATE, ORDER_CANCELED,
         ORDER_DONE, NO_AUTH, SYSTEM_ERROR)
  SIGN   pay.weixin.qq.com/wiki/doc/api/wxa/wxa_api.php?chapter=4_3 (APIv2 签名算法, HMAC-SHA256 upper hex)
  COMM   developers.weixin.qq.com/community/pay (operator answers: 订单重入参数校验失败 = a repeat with other
         parameters; package valid 1 h, refreshed by re-entering the create call with identical parameters;
         "实际结束时间不能晚于使用完结接口的时间"; 429 = FREQUENCY_LIMITED, nothing done)
"""

from __future__ import annotations

import re
from typing import Any

RULES: dict[str, tuple[str, str]] = {
    # -- every v3 request --------------------------------------------------------------------
    "AUTH": (
        "Authorization: WECHATPAY2-SHA256-RSA2048 mchid,nonce_str,timestamp,serial_no,signature over "
        "METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n with the merchant key; else 401 SIGN_ERROR",
        "GO core/consts/const.go SignatureMessageFormat, HeaderAuthorizationFormat; DOC error table",
    ),
    "AUTH_TIME": (
        "the Authorization timestamp is within 5 minutes of WeChat's clock; else 401 SIGN_ERROR",
        "GO core/consts/const.go FiveMinute",
    ),
    "SERIAL": (
        "requests carry Wechatpay-Serial naming a platform certificate or public key the merchant can "
        "verify; WeChat signs its answer with that key",
        "GO core/client.go doRequest (GetAcceptSerial)",
    ),
    "HEADERS": (
        "Accept: application/json; POST bodies Content-Type: application/json; a User-Agent",
        "GO core/client.go doRequest (Accept, Content-Type, User-Agent set on every request)",
    ),
    "ENDPOINT": ("only documented methods and paths; else 404 NOT_FOUND", "DOC"),
    "FIELDS": ("no unknown (misnamed) body or query fields; else 400 PARAM_ERROR", "PL models, PY payscore.py"),
    "THROTTLE": (
        "over the frequency limit: 429 FREQUENCY_LIMITED and nothing done; retry later, same number",
        "GO services/refunddomestic/api_refunds.go error table; COMM",
    ),
    # -- Pay Score service orders --------------------------------------------------------------
    "ORDER_NO": ("out_order_no: 6-32 of [0-9A-Za-z_-|*], unique per merchant", "PL ServiceOrderBodyModel; DOC"),
    "CREATE_REQUIRED": (
        "create needs out_order_no, appid, service_id, service_introduction, time_range, risk_fund, notify_url",
        "PY payscore_create; PL ServiceOrderBodyModel",
    ),
    "INTRO_20": ("service_introduction at most 20 characters", "PL ServiceOrderBodyModel"),
    "START_TIME": ("time_range.start_time: yyyyMMddHHmmss, yyyyMMdd or OnAccept", "PL TimeRange.cs"),
    "RISK_FUND": (
        "risk_fund.name DEPOSIT|ADVANCE|CASH_DEPOSIT (先免) or ESTIMATE_ORDER_COST (先享) as the service "
        "id's mode allows; amount > 0 and <= the service id's limit; description <= 30",
        "PL RiskFund.cs",
    ),
    "OPENID": (
        "need_user_confirm true (需确认): openid must NOT be sent; false (免确认): openid required",
        "PL ServiceOrderBodyModel openid; PY payscore_create",
    ),
    "REENTRY": (
        "a repeated create/complete/cancel must carry identical parameters; else 400 INVALID_REQUEST / "
        "PARAM_ERROR 订单重入参数校验失败",
        "DOC error table (INVALID_REQUEST); COMM",
    ),
    "PAYMENTS": (
        "post_payments <= 100, names <= 20 chars and unique in the order, description <= 30, "
        "amount >= 0 integer, count <= 100",
        "PL PostPayment.cs; PY payscore_complete",
    ),
    "DISCOUNTS": (
        "post_discounts <= 30, names <= 20 chars and unique, description <= 30, amount >= 0",
        "PL PostDiscount.cs",
    ),
    "TOTAL": (
        "total_amount = sum(post_payments) - sum(post_discounts), integer >= 0",
        "PL CompleteBodyModel total_amount",
    ),
    "DEPOSIT_CAP": (
        "先免 (DEPOSIT...): a completed total <= the order's risk fund amount",
        "PL CompleteBodyModel total_amount 3.1",
    ),
    "END_TIME": (
        "complete carries time_range.end_time when the order was created without one; "
        "yyyyMMddHHmmss after an OnAccept start; end > start and not later than the complete call",
        "PL TimeRange.cs end_time; PL CompleteBodyModel time_range; COMM",
    ),
    "COMPLETE_STATE": (
        "complete only DOING/USER_CONFIRM (CREATED: INVALID_ORDER_STATE; REVOKED: "
        "ORDER_CANCELED; DONE: ORDER_DONE); a repeat with identical parameters succeeds",
        "DOC error table; PL QueryResponse state/state_description",
    ),
    "MODIFY": (
        "modify only a completed order still USER_PAYING, lowering total_amount (never above the "
        "completed total); reason required",
        "PL ModifyBodyModel total_amount; PY payscore_modify",
    ),
    "CANCEL": (
        "cancel needs appid, service_id, reason <= 30 characters (the user reads it); allowed in CREATED, "
        "DOING/USER_CONFIRM and DOING/MCH_COMPLETE while USER_PAYING; REVOKED: ORDER_CANCELED (a repeat "
        "with the same reason succeeds); DONE: ORDER_DONE",
        "PL CancelBodyModel; PY payscore_cancel; DOC cancel-service-order.html (原参重入)",
    ),
    "QUERY": (
        "query names exactly one of out_order_no / query_id, plus service_id and appid; unknown: 404 ORDER_NOT_EXIST",
        "PL ServiceOrderQueryModel; PY payscore_query",
    ),
    "PAY": (
        "/pay needs appid, service_id; only a completed order still USER_PAYING",
        "PL PayBodyModel; DOC collect-service-order.html",
    ),
    "SYNC": (
        "/sync needs appid, service_id, type Order_Paid and detail.paid_time (yyyyMMddHHmmss|yyyyMMdd); only "
        "a completed order still USER_PAYING",
        "PL SyncBodyModel; PY payscore_sync; DOC sync-partner-service-order",
    ),
    "SERVICE": (
        "service_id and appid of a later call equal the ones the order was created with",
        "PL ModifyBodyModel service_id (需要与创建订单时保持一致); DOC cancel appid",
    ),
    "PACKAGE": (
        "the mini-program opens wxpayScoreUse with extraData mch_id, package, timestamp, nonce_str, "
        "sign_type HMAC-SHA256 and sign (APIv2 key); the package is valid one hour",
        "DOC applets-confirm.html; SIGN; PL ServiceOrderResponse package",
    ),
    # -- permissions (consent) ------------------------------------------------------------------
    "PERMISSION": (
        "permissions need service_id, appid, authorization_code ([0-9A-Za-z_*-], <= 32); notify_url optional",
        "PY payscore_permission; PL PermissionsBodyModel",
    ),
    # -- refunds ------------------------------------------------------------------------------
    "REFUND": (
        "refund needs out_refund_no and one of transaction_id/out_trade_no, amount.refund > 0, "
        "amount.total == the transaction's total, currency CNY; refunds never exceed the total; the same "
        "out_refund_no is the same refund",
        "GO services/refunddomestic/models.go CreateRequest, AmountReq; api_refunds.go notes 2",
    ),
    "REFUND_QUERY": (
        "GET /v3/refund/domestic/refunds/{out_refund_no}; unknown: 404 RESOURCE_NOT_EXISTS",
        "GO services/refunddomestic/api_refunds.go QueryByOutRefundNo",
    ),
    # -- cash deposit (JSAPI) -----------------------------------------------------------------
    "JSAPI": (
        "jsapi needs appid, mchid, description <= 127, out_trade_no 6-32, notify_url, amount.total > 0, payer.openid",
        "GO services/payments/jsapi/models.go PrepayRequest",
    ),
    # -- bills ----------------------------------------------------------------------------------
    "BILL": (
        "GET /v3/bill/tradebill: bill_date YYYY-MM-DD (required, a past day: STATEMENT_CREATING until T+1, "
        "NO_STATEMENT_EXIST for a day without trades or refunds), bill_type ALL|SUCCESS|REFUND, tar_type "
        "GZIP; answer download_url, hash_type SHA1, hash_value of the uncompressed file",
        "PY transaction.py trade_bill; PL V3/Response/WeChatPayBillTradeBillResponse.cs; "
        "gabinlin/wx-pay-profits-sharing BillOfTradeResponse.java error table",
    ),
    "BILL_DOWNLOAD": (
        "the download_url is fetched with a signed GET (Authorization like any v3 request); the "
        "answer is the file, unsigned",
        "PY transaction.py download_bill (skip_verify=True)",
    ),
    "PAYSCORE_BILL": (
        "GET /v3/payscore/merchant-bill: bill_date yyyy-MM-DD, tar_type GZIP, encryption_algorithm "
        "AEAD_AES_256_GCM, service_id, all required; answer download_bill_count and download_bill_list[] of "
        "bill_sequence, download_url, encrypt_key, nonce, hash_type SHA1, hash_value of the uncompressed file",
        "payapp.weixin.qq.com/wiki/doc/apiv3/apis/chapter6_1_29.shtml; wechatpay-java EncryptBillEntity.java",
    ),
    "PAYSCORE_BILL_DOWNLOAD": (
        "each download_url is fetched with a signed GET; the answer is the encrypted part, unsigned",
        "pay.weixin.qq.com/docs/partner/apis/bill-download/download-sub-merchant-fund-bill.html",
    ),
}

ORDER_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
AUTH_CODE = re.compile(r"^[0-9A-Za-z_*\-]{1,32}$")
TIME14 = re.compile(r"^\d{14}$")
TIME8 = re.compile(r"^\d{8}$")
DEPOSIT_NAMES = ("DEPOSIT", "ADVANCE", "CASH_DEPOSIT")
PAY_LATER_NAMES = ("ESTIMATE_ORDER_COST",)

# Fields each body may carry (anything else is misnamed: FIELDS).
CREATE_FIELDS = {
    "out_order_no",
    "appid",
    "service_id",
    "service_introduction",
    "post_payments",
    "post_discounts",
    "time_range",
    "location",
    "risk_fund",
    "attach",
    "notify_url",
    "openid",
    "need_user_confirm",
}
COMPLETE_FIELDS = {
    "appid",
    "service_id",
    "post_payments",
    "post_discounts",
    "total_amount",
    "time_range",
    "location",
    "profit_sharing",
    "goods_tag",
}
MODIFY_FIELDS = {"appid", "service_id", "post_payments", "post_discounts", "total_amount", "reason"}
CANCEL_FIELDS = {"appid", "service_id", "reason"}
PAY_FIELDS = {"appid", "service_id"}
SYNC_FIELDS = {"appid", "service_id", "type", "detail"}
PERMISSION_FIELDS = {"service_id", "appid", "authorization_code", "notify_url"}
REFUND_FIELDS = {
    "transaction_id",
    "out_trade_no",
    "out_refund_no",
    "reason",
    "notify_url",
    "funds_account",
    "amount",
    "goods_detail",
}
BILL_FIELDS = {"bill_date", "bill_type", "tar_type", "sub_mchid"}
PAYSCORE_BILL_FIELDS = {"bill_date", "tar_type", "encryption_algorithm", "service_id"}
JSAPI_FIELDS = {
    "appid",
    "mchid",
    "description",
    "out_trade_no",
    "time_expire",
    "attach",
    "notify_url",
    "goods_tag",
    "limit_pay",
    "support_fapiao",
    "amount",
    "payer",
    "detail",
    "scene_info",
    "settle_info",
}


class Refusal(Exception):
    """WeChat's error answer: HTTP status, code, message, and the rule broken (None: a business refusal)."""

    def __init__(self, status: int, code: str, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.rule = status, code, message, rule


def param_error(rule: str, message: str) -> Refusal:
    return Refusal(400, "PARAM_ERROR", message, rule)


def only_fields(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise param_error("FIELDS", f"unknown fields: {', '.join(unknown)}")


def text(body: dict, name: str, most: int, rule: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise param_error(rule, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise param_error(rule, f"{name} must be a string")
    if len(value) > most:  # WeChat counts characters (汉字/数字/英语 each 1)
        raise param_error(rule, f"{name} longer than {most} characters")
    return value


def amount(value: Any, name: str, rule: str, positive: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
        raise param_error(rule, f"{name} must be an integer {'> 0' if positive else '>= 0'}")
    return value


def items(body: dict, name: str, most: int, rule: str, required: bool) -> list[dict]:
    """post_payments / post_discounts: named, unique, bounded lines."""
    lines = body.get(name)
    if lines is None:
        if required:
            raise param_error(rule, f"{name} is required")
        return []
    if not isinstance(lines, list) or not lines and required or len(lines) > most:
        raise param_error(rule, f"{name}: 1..{most} lines")
    names = []
    for line in lines:
        if not isinstance(line, dict) or set(line) - {"name", "amount", "description", "count"}:
            raise param_error("FIELDS", f"{name}: unknown line fields")
        names.append(text(line, "name", 20, rule))
        text(line, "description", 30, rule, required=False)
        amount(line.get("amount", 0), f"{name}.amount", rule)
        count = line.get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 100:
            raise param_error(rule, f"{name}.count must be 1..100")
    if len(set(names)) != len(names):
        raise param_error(rule, f"{name}: names must be unique in the order")
    return lines


def line_total(lines: list[dict]) -> int:
    return sum(int(x.get("amount", 0)) * int(x.get("count", 1)) for x in lines)


def check_total(body: dict) -> int:
    """TOTAL: total_amount equals payments minus discounts."""
    payments = items(body, "post_payments", 100, "PAYMENTS", required=True)
    discounts = items(body, "post_discounts", 30, "DISCOUNTS", required=False)
    total = amount(body.get("total_amount"), "total_amount", "TOTAL")
    if total != line_total(payments) - line_total(discounts):
        raise param_error("TOTAL", "total_amount must equal post_payments minus post_discounts")
    return total


def wechat_time(value: Any, rule: str, name: str, on_accept: bool = False) -> str:
    if isinstance(value, str) and (TIME14.match(value) or TIME8.match(value) or on_accept and value == "OnAccept"):
        return value
    raise param_error(rule, f"{name} must be yyyyMMddHHmmss or yyyyMMdd{' or OnAccept' if on_accept else ''}")
