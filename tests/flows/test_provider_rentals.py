"""Whole deposit-free rentals through provider=alipay against the local fake gateway (WeChat Pay Score: tests/flows/test_wechat_flows.py):
sign in, band, freeze by signed notification (or by reconciliation when it is lost), return, rent taken
from the freeze and the rest released. Runs once the rentals service is present."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.helpers import Api
from tests.providers.fakes import FakeAlipay

rental_helpers = pytest.importorskip("tests.rental_helpers")
DAY, rental_body = rental_helpers.DAY, rental_helpers.rental_body
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def alipay(monkeypatch: pytest.MonkeyPatch) -> FakeAlipay:
    fake = FakeAlipay()
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    yield fake
    fake.stop()


def _alipay_member(api: Api, gw: FakeAlipay, user: str, score: int) -> str:
    gw.users[f"code-{user}"], gw.scores[user] = user, score
    token = api.sign_in(f"code-{user}", provider="alipay")
    assert api.post("/v1/credit/authorizations", {}, token=token)[1]["status"] == "granted"
    return token


def _order_string(api: Api, token: str, rental_id: str) -> str:
    """The signed order string the mini-program opens, from the rental's provider_params."""
    return api.get(f"/v1/rentals/{rental_id}", token=token)[1]["provider_params"]["order_str"]


def _close(api: Api, token: str, rental_id: str) -> dict:
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{rental_id}/return", {}, token=token)[0] == 200
    api.run_jobs()
    return api.get(f"/v1/rentals/{rental_id}", token=token)[1]


def test_an_alipay_rental_from_freeze_to_close(alipay, client, aws) -> None:
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000777", 720)
    status, out = api.post("/v1/rentals", rental_body(), token=token)
    assert status == 201 and out["status"] == "pending_freeze"
    form = alipay.open_freeze(_order_string(api, token, out["id"]))
    for _ in range(2):  # Alipay retries: the second is acknowledged and changes nothing
        r = client.http.post("/v1/callbacks/alipay", headers=FORM, body=urlencode(form).encode())
        assert r.body == b"success"
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    closed = _close(api, token, out["id"])
    assert (closed["status"], closed["rent_charged"], closed["released_amount"]) == ("closed", 3_500, 46_500)
    methods = [c["method"] for c in alipay.calls]
    assert methods.count("alipay.trade.pay") == 1 and methods.count("alipay.fund.auth.order.unfreeze") == 1


def test_a_lost_alipay_freeze_notification_is_settled_by_reconciliation(alipay, client, aws) -> None:
    api = Api(client)
    token = _alipay_member(api, alipay, "2088000000000778", 720)
    out = api.post("/v1/rentals", rental_body(), token=token)[1]
    alipay.open_freeze(_order_string(api, token, out["id"]))  # the notification never arrives
    api.advance(16 * 60)
    api.run_jobs()
    rental = api.get(f"/v1/rentals/{out['id']}", token=token)[1]
    assert rental["status"] == "active" and rental["freeze_expires_at"]
    assert any(c["method"] == "alipay.fund.auth.operation.detail.query" for c in alipay.calls)
