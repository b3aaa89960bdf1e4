"""What Alipay's gateway checks, written from Alipay's own definitions (not from our adapter).

Reference table: every rule below cites where it comes from.
  J  = alipay/alipay-sdk-java-all src/main/java/com/alipay/api/domain/<Model>.java (field comments)
  N  = alipay/alipay-sdk-net-all v2/AlipaySDKNet.Standard/Domain/<Model>.cs (the same generated models, newest)
  P  = alipay/alipay-sdk-python-all alipay/aop/api/domain|request|response/<Name>.py (field lists)
  GW = 公共错误码 (opendocs "公共错误码", mirrored at open.alitrip.com/docs/doc.htm?articleId=105806):
       40001 Missing Required Arguments isv.missing-method|-signature|-signature-type|-app-id|-timestamp|-version;
       40002 Invalid Arguments isv.invalid-method (不存在的方法名), isv.invalid-signature, isv.invalid-app-id,
       isv.invalid-timestamp, isv.invalid-parameter (参数无效: 格式不对、非法值、越界), isv.invalid-signature-type
  FA = alipay.fund.auth.operation.detail.query error table (opendocs, mirrored apifox 3618910 api-127338885):
       ILLEGAL_ARGUMENT (参数异常或参数缺失), AUTH_ORDER_NOT_EXIST, AUTH_OPERATION_NOT_EXIST, SYSTEM_ERROR
  ACQ = trade error tables (opendocs alipay.trade.*, mirrored apifox 3618910 api-126370346): ACQ.INVALID_PARAMETER,
       ACQ.TRADE_NOT_EXIST, ACQ.TRADE_HAS_SUCCESS, ACQ.SYSTEM_ERROR

| method | required (source) | formats and limits (source) |
|---|---|---|
| common params | app_id method format charset sign_type sign timestamp version (P constant/ParamConstants.py) | sign_type RSA2, timestamp yyyy-MM-dd HH:mm:ss, version 1.0; cert mode: app_cert_sn + alipay_root_cert_sn (J internal/util/AntCertificationUtil.java) |
| alipay.system.oauth.token | grant_type, code (P request/AlipaySystemOauthTokenRequest.py) | answer user_id or open_id (N Response/AlipaySystemOauthTokenResponse.cs) |
| zhima.credit.score.brief.get | transaction_id, product_code, cert_type, admittance_score; cert_no or open_id (J ZhimaCreditScoreBriefGetModel, N open_id) | transaction_id [A-Za-z0-9_]{1,64}; product_code w1010100000000002733; admittance_score 350..950, "频繁的变更该标准可能导致接口被停用"; cert_type IDENTITY_CARD/PASSPORT/ALIPAY_USER_ID |
| alipay.fund.auth.order.app.freeze | out_order_no, out_request_no, order_title, amount, product_code (N AlipayFundAuthOrderAppFreezeModel) | numbers [A-Za-z0-9_]; amount [0.01,100000000.00]; product_code PREAUTH_PAY; extra_param JSON with category + serviceId (credit pre-auth); deposit_product_mode POSTPAY/POSTPAY_UNCERTAIN/DEPOSIT_ONLY |
| alipay.fund.auth.order.unfreeze | auth_no, out_request_no, amount, remark (J/N AlipayFundAuthOrderUnfreezeModel) | amount [0.01,..]; extra_param map<string,string> JSON, unfreezeBizInfo {"bizComplete":"true"}; same out_request_no = same amount |
| alipay.fund.auth.operation.detail.query | auth_no or out_order_no; operation_id or out_request_no (N AlipayFundAuthOperationDetailQueryModel) | operation_type FREEZE/UNFREEZE/PAY |
| alipay.fund.auth.operation.cancel | auth_no or out_order_no; operation_id or out_request_no (N AlipayFundAuthOperationCancelModel) | remark <= 100 letters / 50 Chinese characters |
| alipay.trade.pay | out_trade_no, total_amount, subject (N AlipayTradePayModel) | out_trade_no [A-Za-z0-9_]{1,64}; subject <= 256, no / = &; pre-auth: auth_no + seller_id + buyer_id ("支付宝预授权...场景下必填"), buyer_open_id for open_id apps (P AlipayTradePayModel.py) |
| alipay.trade.create | out_trade_no, total_amount, subject (N AlipayTradeCreateModel) | buyer_id 2088\\d{12} or buyer_open_id or op_app_id + op_buyer_open_id |
| alipay.trade.query | out_trade_no or trade_no (N AlipayTradeQueryModel) | |
| alipay.trade.refund | refund_amount; trade_no or out_trade_no; out_request_no for partial refunds (N AlipayTradeRefundModel) | the same out_request_no refunds once; refund_amount "不能大于订单金额" (of that trade); trade_no is a trade's 支付宝交易号 (J AlipayTradePayResponse trade_no), never a fund authorization's auth_no (J AlipayFundAuthOrderAppFreezeResponse auth_no): refused ACQ.TRADE_NOT_EXIST, recorded as a violation |
| alipay.trade.fastpay.refund.query | out_request_no; trade_no or out_trade_no (N AlipayTradeFastpayRefundQueryModel) | no refund yet: success without refund_amount |
| zhima.credit.payafteruse.creditbizorder.create | out_order_no, zm_service_id, subject (N ZhimaCreditPayafteruseCreditbizorderCreateModel) | product_code CREDIT_PAY_AFTER_USE |
| zhima.credit.payafteruse.creditbizorder.query | out_order_no or credit_biz_order_id (N ...CreditbizorderQueryModel) | order_status INIT/TRADE_FINISHED/TRADE_CLOSED |
| zhima.credit.payafteruse.creditbizorder.finish | credit_biz_order_id, out_request_no, is_fulfilled (N ...CreditbizorderFinishModel) | is_fulfilled the string "true" or "false" |
| alipay.data.dataservice.bill.downloadurl.query | bill_type, bill_date (J v2 domain/AlipayDataDataserviceBillDownloadurlQueryModel) | bill_date yyyy-MM-dd (or yyyy-MM), T+1 only: no bill of today; answer bill_download_url (30 s) + bill_file_code (J v2 response/...BillDownloadurlQueryResponse); not generated: isp.bill_not_exist (public clients' IsBillNotExist); smid only with bill_type trade_zft_merchant |
There is no zhima.credit.payafteruse.creditbizorder.cancel in any SDK (P request/ lists create, finish, order,
query only): it is an unknown method (GW 40002 isv.invalid-method).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

NUMBER = re.compile(r"[A-Za-z0-9_]{1,64}")
USER_ID = re.compile(r"2088\d{12}")
TIMEOUT = re.compile(r"\d+[mhd]|1c")

# Error families: which error a bad request gets, per method family (GW, FA, ACQ above).
PARAM_ERRORS = {
    "trade": ("40004", "Business Failed", "ACQ.INVALID_PARAMETER"),
    "fund": ("40004", "Business Failed", "ILLEGAL_ARGUMENT"),
    "other": ("40002", "Invalid Arguments", "isv.invalid-parameter"),
}


def yuan_ok(text: Any) -> bool:
    """[0.01, 100000000] yuan with at most two decimals, as a string (amount / total_amount comments)."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return False
    return (
        isinstance(text, str)
        and value == value.quantize(Decimal("0.01"))
        and Decimal("0.01") <= value <= Decimal("100000000")
    )


def short_text(limit: int) -> Callable[[Any], bool]:
    """At most `limit` letters or limit/2 Chinese characters."""
    return lambda text: isinstance(text, str) and sum(1 if ord(c) < 128 else 2 for c in text) <= limit


def subject_ok(text: Any) -> bool:
    return isinstance(text, str) and 0 < len(text) <= 256 and not re.search(r"[/=&]", text)


def json_object(text: Any) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def template_data_ok(text: Any) -> bool:
    """A JSON object of keyword -> {"value": text of at most 50 characters}."""
    if not json_object(text):
        return False
    return all(
        isinstance(v, dict) and set(v) == {"value"} and isinstance(v["value"], str) and len(v["value"]) <= 50
        for v in json.loads(text).values()
    )


def _in(*values: str) -> Callable[[Any], bool]:
    return lambda v: v in values


def _num(v: Any) -> bool:
    return isinstance(v, str) and bool(NUMBER.fullmatch(v))


# method -> (family, required, one-of groups, allowed fields, format checks)
RULES: dict[str, dict] = {
    "zhima.credit.score.brief.get": dict(
        family="other",
        required=("transaction_id", "product_code", "cert_type", "admittance_score"),
        one_of=(("cert_no", "open_id"),),
        allowed={
            "admittance_score",
            "cert_no",
            "cert_type",
            "linked_merchant_id",
            "name",
            "open_id",
            "product_code",
            "transaction_id",
        },
        formats={
            "transaction_id": _num,
            "product_code": _in("w1010100000000002733"),
            "cert_type": _in("IDENTITY_CARD", "PASSPORT", "ALIPAY_USER_ID"),
            "admittance_score": lambda v: isinstance(v, int) and 350 <= v <= 950,
        },
    ),
    "alipay.fund.auth.order.app.freeze": dict(
        family="fund",
        required=("out_order_no", "out_request_no", "order_title", "amount", "product_code"),
        one_of=(),
        allowed={
            "amount",
            "business_params",
            "deposit_product_mode",
            "disable_pay_channels",
            "enable_pay_channels",
            "extra_param",
            "identity_params",
            "order_title",
            "out_order_no",
            "out_request_no",
            "pay_timeout",
            "payee_logon_id",
            "payee_user_id",
            "post_payments",
            "product_code",
            "scene_code",
            "settle_currency",
            "timeout_express",
            "trans_currency",
        },
        formats={
            "out_order_no": _num,
            "out_request_no": _num,
            "amount": yuan_ok,
            "product_code": _in("PREAUTH_PAY"),
            "timeout_express": lambda v: bool(TIMEOUT.fullmatch(str(v))),
            "extra_param": json_object,
            "deposit_product_mode": _in("POSTPAY", "POSTPAY_UNCERTAIN", "DEPOSIT_ONLY"),
            "payee_user_id": lambda v: bool(USER_ID.fullmatch(str(v))),
        },
    ),
    "alipay.fund.auth.order.unfreeze": dict(
        family="fund",
        required=("auth_no", "out_request_no", "amount", "remark"),
        one_of=(),
        allowed={"amount", "auth_no", "extra_param", "out_request_no", "remark"},
        formats={"out_request_no": _num, "amount": yuan_ok, "remark": short_text(100), "extra_param": json_object},
    ),
    "alipay.fund.auth.operation.detail.query": dict(
        family="fund",
        required=(),
        one_of=(("auth_no", "out_order_no"), ("operation_id", "out_request_no")),
        allowed={"auth_no", "operation_id", "operation_type", "out_order_no", "out_request_no", "query_options"},
        formats={"operation_type": _in("FREEZE", "UNFREEZE", "PAY")},
    ),
    "alipay.fund.auth.operation.cancel": dict(
        family="fund",
        required=(),
        one_of=(("auth_no", "out_order_no"), ("operation_id", "out_request_no")),
        allowed={"auth_no", "operation_id", "out_order_no", "out_request_no", "remark"},
        formats={"remark": short_text(100)},
    ),
    "alipay.trade.pay": dict(
        family="trade",
        required=("out_trade_no", "total_amount", "subject"),
        one_of=(),
        allowed={
            "advance_payment_type",
            "agreement_params",
            "alipay_store_id",
            "auth_code",
            "auth_confirm_mode",
            "auth_no",
            "bkagent_req_info",
            "body",
            "business_params",
            "buyer_id",
            "buyer_open_id",
            "disable_pay_channels",
            "discountable_amount",
            "ext_user_info",
            "extend_params",
            "goods_detail",
            "is_async_pay",
            "merchant_order_no",
            "operator_id",
            "out_trade_no",
            "passback_params",
            "pay_params",
            "product_code",
            "promo_params",
            "query_options",
            "request_org_pid",
            "royalty_info",
            "scene",
            "seller_id",
            "settle_currency",
            "settle_info",
            "store_id",
            "sub_merchant",
            "subject",
            "terminal_id",
            "terminal_params",
            "time_expire",
            "timeout_express",
            "total_amount",
            "trans_currency",
            "undiscountable_amount",
        },
        formats={
            "out_trade_no": _num,
            "total_amount": yuan_ok,
            "subject": subject_ok,
            "auth_confirm_mode": _in("COMPLETE", "NOT_COMPLETE"),
            "seller_id": lambda v: bool(USER_ID.fullmatch(str(v))),
            "buyer_id": lambda v: bool(USER_ID.fullmatch(str(v))),
        },
    ),
    "alipay.trade.create": dict(
        family="trade",
        required=("out_trade_no", "total_amount", "subject"),
        one_of=(("buyer_id", "buyer_open_id", "op_buyer_open_id"),),
        allowed={
            "agreement_sign_params",
            "alipay_store_id",
            "bkagent_req_info",
            "body",
            "business_params",
            "buyer_id",
            "buyer_logon_id",
            "buyer_open_id",
            "disable_pay_channels",
            "discountable_amount",
            "enable_pay_channels",
            "ext_user_info",
            "extend_params",
            "goods_detail",
            "logistics_detail",
            "merchant_order_no",
            "op_app_id",
            "op_buyer_open_id",
            "operator_id",
            "out_trade_no",
            "passback_params",
            "product_code",
            "query_options",
            "receiver_address_info",
            "royalty_info",
            "seller_id",
            "settle_info",
            "store_id",
            "sub_merchant",
            "subject",
            "terminal_id",
            "time_expire",
            "timeout_express",
            "total_amount",
            "undiscountable_amount",
        },
        formats={
            "out_trade_no": _num,
            "total_amount": yuan_ok,
            "subject": subject_ok,
            "buyer_id": lambda v: bool(USER_ID.fullmatch(str(v))),
            "timeout_express": lambda v: bool(TIMEOUT.fullmatch(str(v))),
        },
    ),
    "alipay.trade.query": dict(
        family="trade",
        required=(),
        one_of=(("out_trade_no", "trade_no"),),
        allowed={"org_pid", "out_trade_no", "query_options", "trade_no"},
        formats={},
    ),
    "alipay.trade.refund": dict(
        family="trade",
        required=("refund_amount",),
        one_of=(("trade_no", "out_trade_no"),),
        allowed={
            "goods_detail",
            "operator_id",
            "org_pid",
            "out_request_no",
            "out_trade_no",
            "query_options",
            "refund_amount",
            "refund_currency",
            "refund_goods_detail",
            "refund_reason",
            "refund_royalty_parameters",
            "related_settle_confirm_no",
            "store_id",
            "terminal_id",
            "trade_no",
        },
        formats={"refund_amount": yuan_ok, "out_request_no": _num},
    ),
    "alipay.trade.fastpay.refund.query": dict(
        family="trade",
        required=("out_request_no",),
        one_of=(("trade_no", "out_trade_no"),),
        allowed={"org_pid", "out_request_no", "out_trade_no", "query_options", "trade_no"},
        formats={},
    ),
    "zhima.credit.payafteruse.creditbizorder.create": dict(
        family="other",
        required=("out_order_no", "zm_service_id", "subject"),
        one_of=(),
        allowed={
            "amount_type",
            "body",
            "cancel_back_link",
            "category_id",
            "commercial_sub_mode",
            "credit_commercial_mode",
            "extend_params",
            "order_amount",
            "out_agreement_no",
            "out_order_no",
            "payment_total_times",
            "product_code",
            "return_back_link",
            "stage_period_type",
            "subject",
            "zm_service_id",
        },
        formats={
            "out_order_no": _num,
            "order_amount": yuan_ok,
            "subject": subject_ok,
            "product_code": _in("CREDIT_PAY_AFTER_USE"),
        },
    ),
    "zhima.credit.payafteruse.creditbizorder.query": dict(
        family="other",
        required=(),
        one_of=(("out_order_no", "credit_biz_order_id"),),
        allowed={"credit_biz_order_id", "out_order_no"},
        formats={},
    ),
    "zhima.credit.payafteruse.creditbizorder.finish": dict(
        family="other",
        required=("credit_biz_order_id", "out_request_no", "is_fulfilled"),
        one_of=(),
        allowed={"credit_biz_order_id", "is_fulfilled", "out_request_no", "remark"},
        formats={"is_fulfilled": _in("true", "false"), "out_request_no": _num},
    ),
    # AlipayOpenAppMiniTemplatemessageSendModel.java (2022-09-16): data a JSON string of {"keyword_X": {"value"}}
    # (value <= 50 characters); form_id only for payment / form / face templates, not subscription ones
    "alipay.open.app.mini.templatemessage.send": dict(
        family="other",
        required=("to_user_id", "user_template_id", "data"),
        one_of=(),
        allowed={"data", "form_id", "page", "to_user_id", "user_template_id"},
        formats={"to_user_id": lambda v: bool(USER_ID.fullmatch(str(v))), "data": template_data_ok},
    ),
    "alipay.data.dataservice.bill.downloadurl.query": dict(
        family="other",
        required=("bill_type", "bill_date"),
        one_of=(),
        allowed={"bill_date", "bill_type", "smid"},
        formats={
            "bill_type": _in("trade", "signcustomer", "trade_zft_merchant"),
            "bill_date": lambda v: isinstance(v, str) and bool(re.fullmatch(r"\d{4}-\d\d(-\d\d)?", v)),
        },
    ),
}


def check(method: str, biz: dict) -> tuple[list[str], dict | None]:
    """(violations, the error node Alipay would answer or None). Unknown fields are ignored by Alipay but recorded:
    a misnamed field is then reported missing by the required-field check, as Alipay would."""
    rule = RULES[method]
    problems = [f"{method}: unknown field {name}" for name in sorted(set(biz) - rule["allowed"])]
    bad = [f"{method}: missing {name}" for name in rule["required"] if biz.get(name) in (None, "")]
    bad += [
        f"{method}: one of {'/'.join(group)} required"
        for group in rule["one_of"]
        if not any(biz.get(name) not in (None, "") for name in group)
    ]
    bad += [
        f"{method}: bad {name}={biz[name]!r}"
        for name, ok in rule["formats"].items()
        if biz.get(name) not in (None, "") and not ok(biz[name])
    ]
    if not bad:
        return problems, None
    code, msg, sub_code = PARAM_ERRORS[rule["family"]]
    return problems + bad, {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": "; ".join(bad)}
