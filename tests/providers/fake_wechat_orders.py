"""The strict fake's Pay Score, permission, refund and JSAPI endpoints (rules in fake_wechat_rules.py).

A service order moves as WeChat documents it (PL QueryResponse state/state_description, Collection):
CREATED -> DOING/USER_CONFIRM (the user confirms) -> DOING/MCH_COMPLETE with collection USER_PAYING
(complete, total > 0) -> DONE with USER_PAID (Pay Score collects, or /sync records an offline payment);
CREATED/DOING -> REVOKED (cancel); a 0 completion is DONE at once; CREATED untouched 30 days -> EXPIRED.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.providers import fake_wechat_rules as r
from tests.providers.fake_wechat_rules import Refusal, param_error

BEIJING = timezone(timedelta(hours=8))


def beijing(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=BEIJING).strftime("%Y%m%d%H%M%S")


def rfc3339(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=BEIJING).isoformat()


def epoch(text: str) -> int:
    fmt = "%Y%m%d%H%M%S" if len(text) == 14 else "%Y%m%d"
    return int(datetime.strptime(text, fmt).replace(tzinfo=BEIJING).timestamp())


class PayScoreEndpoints:
    """Mixin of FakeWechat: needs self.appid, self.mch_id, self.services, self.now(), self.notify(...)."""

    orders: dict[str, dict]
    services: dict[str, dict]

    # -- helpers -----------------------------------------------------------------------------
    def _same_app(self, body: dict, order: dict | None, rule: str) -> None:
        for name in ("appid", "service_id"):
            if not body.get(name):
                raise param_error(rule, f"{name} is required")
        if body["appid"] != self.appid:
            raise param_error("SERVICE", "appid is not bound to this merchant")
        if body["service_id"] not in self.services:
            raise Refusal(403, "NO_AUTH", "service_id has no Pay Score permission", "SERVICE")
        if order is not None and body["service_id"] != order["service_id"]:
            raise param_error("SERVICE", "service_id differs from the one the order was created with")

    def _order(self, number: str, rule: str) -> dict:
        order = self.orders.get(number)
        if order is None:
            raise Refusal(404, "ORDER_NOT_EXIST", "order does not exist", rule)
        return order

    def view(self, order: dict) -> dict:
        keys = (
            "appid",
            "service_id",
            "out_order_no",
            "service_introduction",
            "state",
            "state_description",
            "total_amount",
            "post_payments",
            "post_discounts",
            "risk_fund",
            "time_range",
            "notify_url",
            "order_id",
            "need_collection",
            "collection",
            "openid",
        )
        return {"mchid": self.mch_id, **{k: order[k] for k in keys if order.get(k) is not None}}

    # -- create / re-create (fresh package) ------------------------------------------------------
    def create_order(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.CREATE_FIELDS)
        for name in (
            "out_order_no",
            "appid",
            "service_id",
            "service_introduction",
            "time_range",
            "risk_fund",
            "notify_url",
        ):
            if body.get(name) in (None, ""):
                raise param_error("CREATE_REQUIRED", f"{name} is required")
        number = body["out_order_no"]
        if not isinstance(number, str) or not r.ORDER_NO.match(number):
            raise param_error("ORDER_NO", "out_order_no: 6-32 of [0-9A-Za-z_-|*]")
        self._same_app(body, None, "CREATE_REQUIRED")
        r.text(body, "service_introduction", 20, "INTRO_20")
        r.text(body, "notify_url", 256, "CREATE_REQUIRED")
        r.text(body, "attach", 256, "FIELDS", required=False)
        self._time_range(body["time_range"])
        self._risk_fund(body["risk_fund"], self.services[body["service_id"]])
        confirm = body.get("need_user_confirm", True)
        if not isinstance(confirm, bool):
            raise param_error("OPENID", "need_user_confirm must be a boolean")
        if confirm and "openid" in body:
            raise param_error("OPENID", "need-confirm orders must not carry openid")
        if not confirm:
            raise Refusal(403, "NO_AUTH", "this service id is need-confirm only", "OPENID")
        r.items(body, "post_payments", 100, "PAYMENTS", required=False)
        r.items(body, "post_discounts", 30, "DISCOUNTS", required=False)
        order = self.orders.get(number)
        if order is not None:  # re-entry: identical parameters refresh the package while CREATED (COMM)
            if order["body"] != body:
                raise Refusal(400, "INVALID_REQUEST", "same out_order_no with other parameters", "REENTRY")
            if order["state"] != "CREATED":
                raise Refusal(400, "INVALID_ORDER_STATE", "order is no longer CREATED", "REENTRY")
        else:
            order = self.orders[number] = {
                "body": body,
                "out_order_no": number,
                "appid": body["appid"],
                "service_id": body["service_id"],
                "mode": self.services[body["service_id"]]["mode"],
                "state": "CREATED",
                "created_at": self.now(),
                "service_introduction": body["service_introduction"],
                "risk_fund": body["risk_fund"],
                "time_range": dict(body["time_range"]),
                "post_payments": body.get("post_payments"),
                "post_discounts": body.get("post_discounts"),
                "notify_url": body["notify_url"],
                "order_id": f"1000000000{len(self.orders):010d}",
                "actions": [],
            }
        package = f"PKG{len(self.packages):06d}{number}"
        self.packages[package] = {"out_order_no": number, "issued_at": self.now()}
        return 200, {**self.view(order), "package": package}

    @staticmethod
    def _time_range(value: Any) -> None:
        if not isinstance(value, dict) or set(value) - {
            "start_time",
            "start_time_remark",
            "end_time",
            "end_time_remark",
        }:
            raise param_error("START_TIME", "time_range: start_time, end_time and their remarks only")
        r.wechat_time(value.get("start_time"), "START_TIME", "time_range.start_time", on_accept=True)
        if "end_time" in value:
            r.wechat_time(value["end_time"], "END_TIME", "time_range.end_time")
        for remark in ("start_time_remark", "end_time_remark"):
            r.text(value, remark, 20, "START_TIME", required=False)

    def _risk_fund(self, value: Any, service: dict) -> None:
        if not isinstance(value, dict) or set(value) - {"name", "amount", "description"}:
            raise param_error("RISK_FUND", "risk_fund: name, amount, description")
        allowed = r.DEPOSIT_NAMES if service["mode"] == "deposit" else r.PAY_LATER_NAMES
        if value.get("name") not in allowed:
            raise param_error("RISK_FUND", f"risk_fund.name must be one of {allowed} for this service id")
        if r.amount(value.get("amount"), "risk_fund.amount", "RISK_FUND", positive=True) > service["limit"]:
            raise param_error("RISK_FUND", "risk_fund.amount above the service id's limit")
        r.text(value, "description", 30, "RISK_FUND", required=False)

    # -- query ------------------------------------------------------------------------------------
    def query_order(self, query: dict, body: dict) -> tuple[int, dict]:
        r.only_fields(query, {"service_id", "appid", "out_order_no", "query_id"})
        if ("out_order_no" in query) == ("query_id" in query):
            raise param_error("QUERY", "exactly one of out_order_no and query_id")
        if "query_id" in query:
            found = [o for o in self.orders.values() if o.get("query_id") == query["query_id"]]
            order = found[0] if found else self._order("?", "QUERY")
        else:
            order = self.orders.get(query["out_order_no"])
            if order is None:
                self._same_app(query, None, "QUERY")
                raise Refusal(404, "ORDER_NOT_EXIST", "order does not exist")  # a lost create: a real answer
        self._same_app(query, order, "QUERY")
        return 200, self.view(order)

    # -- complete / modify / cancel / pay / sync ---------------------------------------------------
    def complete_order(self, number: str, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.COMPLETE_FIELDS)
        order = self._order(number, "COMPLETE_STATE")
        self._same_app(body, order, "COMPLETE_STATE")
        total = r.check_total(body)
        if order.get("state_description") == "MCH_COMPLETE" or order["state"] == "DONE" and order.get("complete_body"):
            if body != order.get("complete_body"):
                raise param_error("REENTRY", "订单重入参数校验失败")
            return 200, self.view(order)
        refusal = {
            "CREATED": "INVALID_ORDER_STATE",
            "REVOKED": "ORDER_CANCELED",
            "EXPIRED": "INVALID_ORDER_STATE",
            "DONE": "ORDER_DONE",
        }.get(order["state"])
        if refusal:
            raise Refusal(400, refusal, f"order is {order['state']}", "COMPLETE_STATE")
        self._end_time(order, body.get("time_range"))
        if order["mode"] == "deposit" and total > order["risk_fund"]["amount"]:
            raise param_error("DEPOSIT_CAP", "total_amount above the order's risk fund")
        if total > self.services[order["service_id"]]["limit"]:
            raise param_error("RISK_FUND", "total_amount above the service id's limit")
        order.update(
            complete_body=body,
            total_amount=total,
            post_payments=body["post_payments"],
            post_discounts=body.get("post_discounts"),
            completed_at=self.now(),
        )
        order["time_range"].update(body.get("time_range") or {})
        order["actions"].append(("complete", body))
        if total == 0:  # nothing to collect: the order is done (need_collection false)
            order.update(state="DONE", state_description=None, need_collection=False)
        else:
            order.update(
                state="DOING",
                state_description="MCH_COMPLETE",
                need_collection=True,
                collection={
                    "state": "USER_PAYING",
                    "total_amount": total,
                    "paying_amount": total,
                    "paid_amount": 0,
                    "details": [],
                },
            )
        return 200, self.view(order)

    def _end_time(self, order: dict, time_range: Any) -> None:
        if time_range is not None:
            self._time_range({"start_time": order["time_range"]["start_time"], **time_range})
        end = (time_range or {}).get("end_time") or order["time_range"].get("end_time")
        if end is None:
            raise param_error("END_TIME", "time_range.end_time is required: the order was created without one")
        if order["time_range"]["start_time"] == "OnAccept" and not r.TIME14.match(end):
            raise param_error("END_TIME", "end_time must be yyyyMMddHHmmss after an OnAccept start")
        if epoch(end) <= order["started_at"]:
            raise param_error("END_TIME", "end_time must be after the service start")
        if epoch(end) > self.now():
            raise param_error("END_TIME", "实际结束时间不能晚于使用完结接口的时间")

    def _collecting(self, order: dict, rule: str) -> None:
        if order["state"] == "DOING" and order.get("state_description") == "MCH_COMPLETE":
            return
        code, rule_of = {"DONE": ("ORDER_DONE", None), "REVOKED": ("ORDER_CANCELED", None)}.get(
            order["state"], ("INVALID_ORDER_STATE", rule)
        )
        raise Refusal(400, code, f"order is {order['state']}/{order.get('state_description')}", rule_of)

    def modify_order(self, number: str, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.MODIFY_FIELDS)
        order = self._order(number, "MODIFY")
        self._same_app(body, order, "MODIFY")
        r.text(body, "reason", 30, "MODIFY")
        total = r.check_total(body)
        self._collecting(order, "MODIFY")
        if total > order["collection"]["total_amount"]:
            raise param_error("MODIFY", "total_amount cannot be raised above the completed total")
        order.update(total_amount=total, post_payments=body["post_payments"], post_discounts=body.get("post_discounts"))
        order["collection"].update(total_amount=total, paying_amount=total - order["collection"]["paid_amount"])
        order["actions"].append(("modify", body))
        return 200, self.view(order)

    def cancel_order(self, number: str, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.CANCEL_FIELDS)
        order = self._order(number, "CANCEL")
        self._same_app(body, order, "CANCEL")
        reason = r.text(body, "reason", 30, "CANCEL")
        if order["state"] == "REVOKED":
            if reason != order.get("cancel_reason"):
                raise Refusal(400, "ORDER_CANCELED", "order already cancelled", "REENTRY")
            return 200, self.view(order)
        if order["state"] in ("DONE", "EXPIRED"):
            raise Refusal(
                400, "ORDER_DONE" if order["state"] == "DONE" else "INVALID_ORDER_STATE", f"order is {order['state']}"
            )
        order.update(state="REVOKED", state_description=None, cancel_reason=reason, total_amount=0)
        order["actions"].append(("cancel", body))
        return 200, self.view(order)

    def pay_order(self, number: str, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.PAY_FIELDS)
        order = self._order(number, "PAY")
        self._same_app(body, order, "PAY")
        self._collecting(order, "PAY")
        order["actions"].append(("pay", body))
        self.collection_requests.append(number)
        if self.pays_on_request:
            self.collect(number)
        return 200, {
            "appid": order["appid"],
            "out_order_no": number,
            "service_id": order["service_id"],
            "order_id": order["order_id"],
        }

    def sync_order(self, number: str, body: dict) -> tuple[int, dict]:
        r.only_fields(body, r.SYNC_FIELDS)
        order = self._order(number, "SYNC")
        self._same_app(body, order, "SYNC")
        detail = body.get("detail")
        if body.get("type") != "Order_Paid" or not isinstance(detail, dict) or set(detail) != {"paid_time"}:
            raise param_error("SYNC", "type Order_Paid with detail.paid_time")
        paid_time = r.wechat_time(detail["paid_time"], "SYNC", "detail.paid_time")
        self._collecting(order, "SYNC")
        total = order["collection"]["total_amount"]
        order.update(state="DONE", state_description=None)
        order["collection"].update(
            state="USER_PAID",
            paying_amount=0,
            paid_amount=total,
            details=[{"seq": 1, "amount": total, "paid_type": "MCH", "paid_time": paid_time}],
        )
        order["actions"].append(("sync", body))
        return 200, self.view(order)

    # -- what the user and Pay Score do ---------------------------------------------------------
    def collect(self, number: str) -> tuple[dict, bytes]:
        """Pay Score collects a completed order (the user's balance/card): DONE/USER_PAID + notification."""
        order = self.orders[number]
        assert order.get("state_description") == "MCH_COMPLETE", f"{number} is not being collected"
        total = order["collection"]["total_amount"]
        tx = f"4200{len(self.transactions) + 1:024d}"
        self.transactions[tx] = {"total": total, "out_order_no": number, "refunded": 0, "at": self.now()}
        order.update(state="DONE", state_description=None)
        order["collection"].update(
            state="USER_PAID",
            paying_amount=0,
            paid_amount=total,
            details=[
                {
                    "seq": 1,
                    "amount": total,
                    "paid_type": "NEWTON",
                    "paid_time": beijing(self.now()),
                    "transaction_id": tx,
                }
            ],
        )
        return self.notify(
            "PAYSCORE.USER_PAID", {**self.view(order), "openid": order.get("openid")}, "payscore", summary="支付成功"
        )

    def expire(self, number: str) -> None:
        """A CREATED order untouched for 30 days (PL QueryResponse state EXPIRED)."""
        assert self.orders[number]["state"] == "CREATED"
        self.orders[number]["state"] = "EXPIRED"
