"""Whole deposit-free rentals through provider=alipay and provider=wechat against the local fake gateways:
sign in, band, freeze by signed notification (or by reconciliation when it is lost), return, rent taken
from the freeze and the rest released. Runs once the rentals service is present."""
from __future__ import annotations

import pytest

from tests.helpers import Api
from tests.providers.fakes import FakeWechat

rental_helpers = pytest.importorskip("tests.rental_helpers")
DAY, rental_body = rental_helpers.DAY, rental_helpers.rental_body
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def wechat(monkeypatch: pytest.MonkeyPatch) -> FakeWechat:
    fake = FakeWechat()
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    yield fake
    fake.stop()


def _close(api: Api, token: str, rental_id: str) -> dict:
    api.advance(5 * DAY)
    assert api.post(f"/v1/rentals/{rental_id}/return", {}, token=token)[0] == 200
    api.run_jobs()
    return api.get(f"/v1/rentals/{rental_id}", token=token)[1]


def test_a_wechat_pay_score_rental_from_consent_to_close(wechat, client, aws) -> None:
    wechat.now = lambda: int(aws.clock.now().timestamp())
    api = Api(client)
    token = api.sign_in("jc", provider="wechat")
    assert api.post("/v1/credit/authorizations", {}, token=token)[1]["status"] == "pending"
    code = wechat.calls[-1]["body"]["authorization_code"]
    h, b = wechat.notification("PAYSCORE.USER_OPEN_SERVICE", {"authorization_code": code, "openid": "o-jc"}, "e1")
    assert client.http.post("/v1/callbacks/wechat", headers={**JSON, **h}, body=b).status_code == 204
    out = api.post("/v1/rentals", rental_body(scenario="books"), token=token)[1]
    assert out["status"] == "pending_freeze"
    assert wechat.orders[f"{out['id']}_freeze"]["risk_fund"]["amount"] == 50_000
    h, b = wechat.notification("PAYSCORE.USER_CONFIRM", {"out_order_no": f"{out['id']}_freeze",
                                                         "risk_fund": {"amount": 50_000}}, "e2")
    assert client.http.post("/v1/callbacks/wechat", headers={**JSON, **h}, body=b).status_code == 204
    assert api.get(f"/v1/rentals/{out['id']}", token=token)[1]["status"] == "active"
    closed = _close(api, token, out["id"])
    assert (closed["status"], closed["rent_charged"], closed["released_amount"]) == ("closed", 3_500, 46_500)
    actions = wechat.orders[f"{out['id']}_freeze"]["actions"]
    assert [a for a, _ in actions] == ["complete"] and actions[0][1]["total_amount"] == 3_500
