"""Webhooks to the merchant's own systems, against a real HTTP receiver on loopback: signed deliveries,
stable event ids, retries on the sandbox clock, `failed` after the last, redelivery, secret rotation."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.domain.webhooks import RETRY_SCHEDULE
from tests.helpers import Api
from tests.webhook_receiver import Receiver, verify


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def _register(api: Api, url: str, events: list[str]) -> dict:
    status, out = api.admin("POST", "/v1/admin/webhooks", {"url": url, "events": events})
    assert status == 201, out
    return out


def _events(api: Api, query: str = "") -> list[dict]:
    status, out = api.admin("GET", f"/v1/admin/events{query}")
    assert status == 200, out
    return out["items"]


def _granted(api: Api, code: str = "pia:760") -> None:
    api.member(code)
    api.run_jobs()


def test_a_matching_event_arrives_signed_with_a_stable_id_once(client, receiver):
    api = Api(client)
    hook = _register(api, receiver.url, ["credit.*"])
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["credit.*"]
    _granted(api)
    api.run_jobs()  # a rerun sends nothing again
    assert [e["type"] for e in receiver.events()] == ["credit.granted"]  # coupon.issued is not wanted
    got = receiver.received[0]
    body, headers = got["body"], got["headers"]
    event = json.loads(body)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert headers["Content-Type"] == "application/json" and headers["Creditfirst-Event-Id"] == event["id"]
    assert verify(hook["secret"], headers["Creditfirst-Signature"], body)
    assert not verify("whsec_wrong", headers["Creditfirst-Signature"], body)
    assert event["data"]["after"] == {"band": "750-799", "tier": "gold"}
    listed = {e["id"]: e for e in _events(api)}
    assert listed[event["id"]]["deliveries"] == [
        {
            "webhook_id": hook["id"],
            "status": "delivered",
            "attempts": 1,
            "next_attempt_at": None,
            "last_status_code": 200,
        }
    ]
    coupon = next(e for e in listed.values() if e["type"] == "coupon.issued")
    assert coupon["deliveries"] == []  # recorded (listable), sent to no endpoint
    assert [e["id"] for e in _events(api, "?type=credit.*")] == [event["id"]]
    assert [e["id"] for e in _events(api, "?delivery=delivered")] == [event["id"]]
    assert _events(api, "?delivery=failed") == []


EARLY = 20  # seconds short of a retry's time


def test_failures_retry_on_the_schedule_under_the_sandbox_clock_then_fail(client, receiver):
    api = Api(client)
    receiver.default = 500
    hook = _register(api, receiver.url, ["credit.granted"])
    _granted(api)
    assert len(receiver.received) == 1
    for n, wait in enumerate(RETRY_SCHEDULE, start=1):
        [event] = _events(api, "?delivery=pending")
        [d] = event["deliveries"]
        assert (d["attempts"], d["last_status_code"]) == (n, 500)
        # The sandbox clock also runs with the wall clock: the margin outlasts a slow run_jobs on a loaded machine.
        api.advance(int(wait.total_seconds()) - EARLY)
        api.run_jobs()
        assert len(receiver.received) == n, "retried before its time"
        api.advance(EARLY)
        api.run_jobs()
        assert len(receiver.received) == n + 1
    [event] = _events(api, "?delivery=failed")
    assert event["deliveries"][0] | {} == {
        "webhook_id": hook["id"],
        "status": "failed",
        "attempts": 9,
        "next_attempt_at": None,
        "last_status_code": 500,
    }
    api.advance(7 * 86_400)
    api.run_jobs()
    assert len(receiver.received) == 9  # failed is final until an operator redelivers
    assert len({r["headers"]["Creditfirst-Event-Id"] for r in receiver.received}) == 1  # one id throughout
    [listed] = api.admin("GET", "/v1/admin/webhooks")[1]["items"]
    assert listed["failing"] is True and listed["consecutive_failures"] == 9 and "secret" not in listed


def test_a_timeout_or_refused_connection_is_a_failed_attempt(client, receiver):
    api = Api(client)
    receiver.server.server_close()  # nothing listens there any more
    _register(api, receiver.url, ["credit.granted"])
    _granted(api)
    [event] = _events(api, "?delivery=pending")
    assert event["deliveries"][0]["attempts"] == 1 and event["deliveries"][0]["last_status_code"] is None


def test_redelivery_sends_the_same_event_again_with_a_fresh_schedule(client, receiver):
    api = Api(client)
    receiver.answers = [500] * 9
    hook = _register(api, receiver.url, ["credit.granted"])
    _granted(api)
    for wait in RETRY_SCHEDULE:
        api.advance(int(wait.total_seconds()))
        api.run_jobs()
    [event] = _events(api, "?delivery=failed")
    status, out = api.admin("POST", f"/v1/admin/events/{event['id']}/redeliver", {})
    assert status == 202 and out == {"id": event["id"], "webhooks": [hook["id"]]}
    api.run_jobs()
    assert len(receiver.received) == 10
    assert json.loads(receiver.received[-1]["body"])["id"] == event["id"]
    [again] = _events(api, "?delivery=delivered")
    assert again["deliveries"][0]["attempts"] == 10 and again["deliveries"][0]["last_status_code"] == 200
    assert api.admin("GET", "/v1/admin/webhooks")[1]["items"][0]["failing"] is False  # a success clears the flag
    assert api.admin("POST", "/v1/admin/events/evt_nosuch/redeliver", {})[0] == 404


def test_rotation_signs_with_both_secrets_for_24_hours(client, receiver):
    api = Api(client)
    hook = _register(api, receiver.url, ["credit.granted"])
    status, out = api.admin("POST", f"/v1/admin/webhooks/{hook['id']}/rotate", {})
    assert status == 200 and out["secret"] != hook["secret"]
    _granted(api, "quinn:760")
    got = receiver.received[-1]
    header = got["headers"]["Creditfirst-Signature"]
    assert header.count("v1=") == 2
    assert verify(out["secret"], header, got["body"]) and verify(hook["secret"], header, got["body"])
    api.advance(86_400 + 1)
    _granted(api, "rosa:760")
    header = receiver.received[-1]["headers"]["Creditfirst-Signature"]
    assert header.count("v1=") == 1
    assert verify(out["secret"], header, receiver.received[-1]["body"])
    assert not verify(hook["secret"], header, receiver.received[-1]["body"])


def test_a_deleted_endpoint_gets_nothing_more(client, receiver):
    api = Api(client)
    hook = _register(api, receiver.url, ["*"])
    assert api.admin("DELETE", f"/v1/admin/webhooks/{hook['id']}")[0] == 204
    assert api.admin("DELETE", f"/v1/admin/webhooks/{hook['id']}")[0] == 404
    _granted(api)
    assert receiver.received == [] and api.admin("GET", "/v1/admin/webhooks")[1]["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1/x", "events": ["credit.nosuch"]}, "events"),
        ({"url": "http://127.0.0.1/x", "events": ["credit*"]}, "events"),
        ({"url": "http://127.0.0.1/x", "events": []}, "events"),
        ({"url": "ftp://127.0.0.1/x", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(client, body, field):
    status, out = Api(client).admin("POST", "/v1/admin/webhooks", body)
    assert status == 400 and out["error"]["field"] == field, out


def test_duplicate_and_concurrent_messages_post_one_attempt(client, aws, receiver):
    """The same delivery message handled twice, and by two workers at once, POSTs once."""
    from chalicelib.jobs.runner import handle_record
    from chalicelib.services.webhooks.log import record_event

    api = Api(client)
    receiver.delay = 0.3
    _register(api, receiver.url, ["credit.granted"])
    api.member("sia:760")
    entry = next(
        i
        for s in range(4)
        for i in aws.table.query("due_pk = :p", {":p": f"outbox#{s}"}, index="due")
        if i["event_type"] == "credit.granted"
    )
    assert record_event(aws, entry) is True
    assert record_event(aws, entry) is False  # a duplicate stream record / outbox rerun: no second delivery
    [d] = [i for s in range(4) for i in aws.table.query("due_pk = :p", {":p": f"timer#webhook#{s}"}, index="due")]
    body = {"pk": d["pk"], "sk": d["sk"]}
    threads = [threading.Thread(target=handle_record, args=("webhook-deliveries", body, aws)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handle_record("webhook-deliveries", body, aws)
    assert len(receiver.received) == 1
