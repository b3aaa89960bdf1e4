"""The strict fake refuses what WeChat refuses, with WeChat's error shape and status, and records the rule broken;
so a flow asserting `violations == []` means something. Requests are signed with a correct Authorization."""

from __future__ import annotations

import copy

import pytest

from tests.providers.fake_wechat import DEPOSIT_SERVICE, PAY_LATER_SERVICE
from tests.providers.test_wechat_gateway import NOW, gw, provider  # noqa: F401

APPID = "wxd678efh567hg6787"
CREATE = {
    "out_order_no": "rt_00000000000000000077_freeze",
    "appid": APPID,
    "service_id": DEPOSIT_SERVICE,
    "service_introduction": "Camera",
    "time_range": {"start_time": "OnAccept"},
    "risk_fund": {"name": "DEPOSIT", "amount": 10_000, "description": "Camera"},
    "notify_url": "https://example.test/n",
    "need_user_confirm": True,
}


def _refused(provider, gw, method: str, path: str, body: dict | None, status: int, code: str, rule: str):  # type: ignore[no-untyped-def]  # noqa: F811
    got, answer = provider.client.call(method, path, body)
    assert (got, answer["code"]) == (status, code), answer
    assert [v["rule"] for v in gw.violations] == [rule]
    gw.violations.clear()


@pytest.mark.parametrize(
    "change, rule",
    [
        (lambda b: b.update(openid="o-user"), "OPENID"),
        (lambda b: b.update(service_introduction="x" * 21), "INTRO_20"),
        (lambda b: b["risk_fund"].update(name="ESTIMATE_ORDER_COST"), "RISK_FUND"),
        (lambda b: b["risk_fund"].update(amount=0), "RISK_FUND"),
        (lambda b: b["risk_fund"].update(description="x" * 31), "RISK_FUND"),
        (lambda b: b.pop("notify_url"), "CREATE_REQUIRED"),
        (lambda b: b.update(out_order_no="short"), "ORDER_NO"),
        (lambda b: b.update(time_range={"start_time": "tomorrow"}), "START_TIME"),
        (lambda b: b.update(serviceid="typo"), "FIELDS"),
        (lambda b: b.update(post_payments=[{"name": f"n{i}", "amount": 1} for i in range(101)]), "PAYMENTS"),
        (lambda b: b.update(post_payments=[{"name": "a", "amount": 1}, {"name": "a", "amount": 2}]), "PAYMENTS"),
    ],
)
def test_create_refusals(provider, gw, change, rule) -> None:  # noqa: F811
    body = copy.deepcopy(CREATE)
    change(body)
    _refused(provider, gw, "POST", "/v3/payscore/serviceorder", body, 400, "PARAM_ERROR", rule)


def test_a_pay_later_fund_on_the_deposit_service_and_a_changed_reentry_are_refused(provider, gw) -> None:  # noqa: F811
    body = {**copy.deepcopy(CREATE), "service_id": PAY_LATER_SERVICE}
    _refused(provider, gw, "POST", "/v3/payscore/serviceorder", body, 400, "PARAM_ERROR", "RISK_FUND")
    assert provider.client.call("POST", "/v3/payscore/serviceorder", CREATE)[0] == 200
    assert provider.client.call("POST", "/v3/payscore/serviceorder", CREATE)[0] == 200  # identical: fresh package
    changed = {**copy.deepcopy(CREATE), "service_introduction": "Drone"}
    _refused(provider, gw, "POST", "/v3/payscore/serviceorder", changed, 400, "INVALID_REQUEST", "REENTRY")


def _confirmed(provider, gw, aws):  # type: ignore[no-untyped-def]  # noqa: F811
    _, answer = provider.client.call("POST", "/v3/payscore/serviceorder", CREATE)
    assert (
        provider.client.call(
            "POST",
            f"/v3/payscore/serviceorder/{CREATE['out_order_no']}/complete",
            {
                "appid": APPID,
                "service_id": DEPOSIT_SERVICE,
                "post_payments": [{"name": "rent", "amount": 1}],
                "total_amount": 1,
                "time_range": {"end_time": "20261123180000"},
            },
        )[1]["code"]
        == "INVALID_ORDER_STATE"
    )
    gw.violations.clear()  # completing a CREATED order breaks COMPLETE_STATE
    order = gw.orders[CREATE["out_order_no"]]
    order.update(state="DOING", state_description="USER_CONFIRM", started_at=gw.now() - 3600)
    return f"/v3/payscore/serviceorder/{CREATE['out_order_no']}"


@pytest.mark.parametrize(
    "body, rule",
    [
        ({"post_payments": [{"name": "rent", "amount": 500}], "total_amount": 500}, "END_TIME"),
        ({"post_payments": [{"name": "rent", "amount": 500}], "total_amount": 400, "end": True}, "TOTAL"),
        ({"post_payments": [{"name": "rent", "amount": 10_001}], "total_amount": 10_001, "end": True}, "DEPOSIT_CAP"),
        (
            {
                "post_payments": [{"name": "rent", "amount": 500}],
                "post_discounts": [{"name": f"d{i}", "amount": 0} for i in range(31)],
                "total_amount": 500,
                "end": True,
            },
            "DISCOUNTS",
        ),
        ({"post_payments": [{"name": "rent", "amount": 500}], "total_amount": 500, "future": True}, "END_TIME"),
    ],
)
def test_complete_refusals(provider, gw, aws, body, rule) -> None:  # noqa: F811
    from chalicelib.providers.wechat_format import wechat_time

    path = _confirmed(provider, gw, aws)
    body = dict(body)
    end = NOW if body.pop("end", False) else NOW.replace(year=2027) if body.pop("future", False) else None
    out = {
        "appid": APPID,
        "service_id": DEPOSIT_SERVICE,
        **body,
        **({"time_range": {"end_time": wechat_time(end)}} if end else {}),
    }
    _refused(provider, gw, "POST", f"{path}/complete", out, 400, "PARAM_ERROR", rule)


def test_modify_never_raises_and_cancel_reasons_are_short(provider, gw, aws) -> None:  # noqa: F811
    from chalicelib.providers.wechat_format import wechat_time

    path = _confirmed(provider, gw, aws)
    done = {
        "appid": APPID,
        "service_id": DEPOSIT_SERVICE,
        "post_payments": [{"name": "rent", "amount": 500}],
        "total_amount": 500,
        "time_range": {"end_time": wechat_time(NOW)},
    }
    assert provider.client.call("POST", f"{path}/complete", done)[0] == 200
    raise_ = {
        "appid": APPID,
        "service_id": DEPOSIT_SERVICE,
        "post_payments": [{"name": "rent", "amount": 900}],
        "total_amount": 900,
        "reason": "damage",
    }
    _refused(provider, gw, "POST", f"{path}/modify", raise_, 400, "PARAM_ERROR", "MODIFY")
    _refused(
        provider,
        gw,
        "POST",
        f"{path}/cancel",
        {"appid": APPID, "service_id": DEPOSIT_SERVICE, "reason": "x" * 31},
        400,
        "PARAM_ERROR",
        "CANCEL",
    )


def test_queries_name_exactly_one_order_key_and_refunds_the_whole_total(provider, gw) -> None:  # noqa: F811
    both = f"/v3/payscore/serviceorder?service_id={DEPOSIT_SERVICE}&appid={APPID}&out_order_no=abcdef&query_id=1"
    _refused(provider, gw, "GET", both, None, 400, "PARAM_ERROR", "QUERY")
    gw.transactions["4200000000000000000000000001"] = {"total": 9_900, "out_trade_no": "t", "refunded": 0}
    refund = {
        "transaction_id": "4200000000000000000000000001",
        "out_refund_no": "ord_1_rfd1",
        "amount": {"refund": 100, "total": 100, "currency": "CNY"},
    }
    _refused(provider, gw, "POST", "/v3/refund/domestic/refunds", refund, 400, "PARAM_ERROR", "REFUND")


def test_unknown_endpoints_are_404_and_a_request_without_our_serial_is_recorded(provider, gw) -> None:  # noqa: F811
    _refused(provider, gw, "GET", "/v3/payscore/serviceorders", None, 404, "NOT_FOUND", "ENDPOINT")
    provider.keys.accept_serial = lambda: "SOMETHING_ELSE"
    provider.client.call("GET", "/v3/refund/domestic/refunds/nothing")
    assert [v["rule"] for v in gw.violations] == ["SERIAL"]
    gw.violations.clear()
