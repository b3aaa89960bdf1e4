"""The member-day reminder through each provider's own channel, against the strict fakes: WeChat's
subscribe message (access_token kept, renewed once when refused) and Alipay's mini-program template
message; every test ends with no recorded rule violation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.clock import FixedClock
from chalicelib.domain.reminders import Reminder
from tests.providers.fake_alipay import FakeAlipay
from tests.providers.fake_wechat import FakeWechat

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
REMINDER = Reminder("2026-12", date(2026, 12, 8), "Credit privilege day is tomorrow", "pages/credit-day/index")
TEMPLATE = "tmpl_credit_day"
USER = "2088000000000001"


@pytest.fixture
def wechat(aws, monkeypatch):  # type: ignore[no-untyped-def]
    gw = FakeWechat()
    for k, v in {**gw.env(), "CREDITFIRST_WECHAT_REMINDER_TEMPLATE": TEMPLATE}.items():
        monkeypatch.setenv(k, v)
    from chalicelib.config import get_settings

    get_settings.cache_clear()
    aws.settings = get_settings()
    aws.providers.clear()
    aws.clock = FixedClock(NOW)
    yield gw, aws.provider("wechat")
    get_settings.cache_clear()
    gw.stop()
    assert gw.violations == []


def test_a_wechat_reminder_is_a_subscribe_message_to_the_openid_with_a_kept_token(wechat, aws):
    gw, provider = wechat
    gw.subscribed["o-ann"] = {TEMPLATE}
    gw.subscribed["o-bob"] = {TEMPLATE}
    assert provider.send_reminder("o-ann", REMINDER).ok
    assert provider.send_reminder("o-bob", REMINDER).ok
    tokens = [c for c in gw.calls if c["path"] == "/cgi-bin/token"]
    assert len(tokens) == 1  # a new token would invalidate the one in use: it is kept and reused
    msg = gw.messages[0]
    assert (msg["touser"], msg["template_id"], msg["page"], msg["miniprogram_state"]) == (
        "o-ann",
        TEMPLATE,
        "pages/credit-day/index",
        "formal",
    )
    assert msg["data"]["date2"] == {"value": "2026-12-08"}


def test_a_refused_token_is_renewed_once_and_an_unsubscribed_user_is_a_failure(wechat, aws):
    gw, provider = wechat
    gw.subscribed["o-cat"] = {TEMPLATE}
    assert provider.send_reminder("o-cat", REMINDER).ok
    gw.access_token = "rotated-elsewhere"  # another server fetched a token: ours is no longer the latest
    gw.subscribed["o-cat"] = {TEMPLATE}
    assert provider.send_reminder("o-cat", REMINDER).ok
    assert len([c for c in gw.calls if c["path"] == "/cgi-bin/token"]) == 2
    result = provider.send_reminder("o-dan", REMINDER)  # never subscribed
    assert (result.status, result.reason) == ("failed", "not_subscribed")
    aws.clock = FixedClock(NOW + timedelta(hours=2))  # the kept token expired: a new one
    gw.subscribed["o-cat"] = {TEMPLATE}
    assert provider.send_reminder("o-cat", REMINDER).ok
    assert len([c for c in gw.calls if c["path"] == "/cgi-bin/token"]) == 3


@pytest.fixture
def alipay(aws, monkeypatch):  # type: ignore[no-untyped-def]
    gw = FakeAlipay()
    values = {k.removeprefix("CREDITFIRST_").lower(): v for k, v in gw.env().items()}
    monkeypatch.setattr(aws, "settings", replace(aws.settings, **values, alipay_reminder_template=TEMPLATE))
    gw.init_state()
    aws.providers.pop("alipay", None)
    yield gw, aws.provider("alipay")
    gw.stop()
    assert gw.violations == []


def test_an_alipay_reminder_is_a_subscription_template_message_without_form_id(alipay):
    gw, provider = alipay
    gw.subscribed[USER] = {TEMPLATE}
    assert provider.send_reminder(USER, REMINDER).ok
    sent = gw.template_messages[0]
    assert (sent["to_user_id"], sent["user_template_id"], sent["page"]) == (USER, TEMPLATE, "pages/credit-day/index")
    assert "form_id" not in sent
    assert json.loads(sent["data"])["keyword2"] == {"value": "2026-12-08"}
    refused = provider.send_reminder("2088000000000002", REMINDER)
    assert refused.status == "failed"
    assert provider.send_reminder("openid:074a", REMINDER).reason == "open_id_not_supported"  # cannot be named
