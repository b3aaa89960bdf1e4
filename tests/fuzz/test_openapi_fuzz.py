"""Schemathesis against /v1/openapi.json of the running local stack: every route, authenticated.

Checks on every response: never a 5xx, every 4xx in the error envelope of API.md (error_envelope below),
documented status codes and content types, 2xx bodies matching their schema, and schema-violating input
rejected with a 4xx. Path parameters are either generated or (3 times in 4) the id of a real object
of the fuzzing member (an object seeded for that very operation where another would consume it first),
and as often the valid bodies of some operations carry real values (BODY_AIMS, and World.bodies for values
only the seed knows), so the handlers' logic is reached, not only the 404 branch. Two operations the rules
keep from the fuzzing member are fuzzed as a member seeded for them (World.tokens): binding a referral code
(for members without an order) and joining a team (refused to the blacklisted, which the fuzzing member's
overdue rentals make it). The one object the clock's fuzzing would close first (a team lasts at most a
week) is seeded the moment its operation's fuzzing starts (World.just_in_time).
Every operation must answer 2xx at least once, but those listed in NEVER_2XX with the reason.

FUZZ_EXAMPLES sets the examples per operation (default 20: about 45 s; `make fuzz` runs 300).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.domain.policy import Policy  # noqa: E402
from tests.local_stack import LocalStack, call  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
ADMIN_KEY = "local-admin-key"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# What API.md fixes for a status; other 4xx statuses only need a well-formed envelope.
CODES_FOR_STATUS = {
    400: {"validation_error"},
    401: {"unauthenticated", "invalid_signature"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    415: {"unsupported_media_type"},
    422: {"idempotency_key_reused"},
}
# A running group-buy: it ends far past any time the clock's fuzzing reaches (up to 10 years a call), so a team
# may still be opened when POST /v1/teams/{share_code}/join is fuzzed; its scenario is one no fuzzed
# PUT /v1/admin/scenarios/{name} is aimed at (that aims at "books"), so its seats are still approved then.
GROUP_BUY = {
    "product_id": "fuzz-gb",
    "title": "Fuzz group-buy",
    "price": 20_000,
    "group_price": 9_900,
    "starts_at": "2020-01-01T00:00:00Z",
    "ends_at": "9000-01-01T00:00:00Z",
    "scenario": "power_bank",
}
# 3 in 4 valid bodies of these operations carry these values (a None is set only over a generated value):
# a generated scenario, product, login code or start time is (almost) never a real or a future one, and a
# generated amount is mostly over the member's limit, so only the error branches would be reached.
BODY_AIMS = {
    "POST /v1/orders": {
        "kind": "pay_later",
        "scenario": "books",
        "amount": 10_000,
        "trial_days": None,
        "installments": None,
        "coupon_id": None,
    },
    "POST /v1/rentals": {"scenario": "books", "item_value": 50_000, "daily_rent": 500, "days": 7, "coupon_id": None},
    "POST /v1/bookings": {"starts_at": "2090-01-01T10:00:00Z", "price": 20_000},
    "POST /v1/trials": {"product_id": "fuzz-trial", "item_value": 30_000, "days": 7},
    "POST /v1/sessions": {"provider": "sandbox", "code": "fuzzer:780"},
    "POST /v1/admin/rentals/{rental_id}/deductions": {"amount": 100},  # within the freeze
    "POST /v1/admin/webhooks": {"url": "http://127.0.0.1:9/fuzz", "events": ["referral.*"]},  # loopback: local only
    "POST /v1/admin/group-buys": GROUP_BUY,
    "POST /v1/group-buys/{gb_id}/teams": {"quantity": 1},  # a seat within the member's credit
    "POST /v1/teams/{share_code}/join": {"quantity": 1},
}
# Seconds to wait for an answer, where 30 is not enough: run-everything-now first waits for the background
# pollers' batches in hand (jobs/runner.py Activity.exclusive), then does all the work the fuzzed clock
# made due (it may have moved years); measured up to 50 s on a loaded 2-core machine.
TIMEOUTS = {"POST /v1/sandbox/jobs/run": 120}
# Operations a fuzzer cannot bring to a 2xx, and why (each is covered by its own tests).
NEVER_2XX = {
    "POST /v1/callbacks/alipay": "Alipay is not configured on the local stack (404); RSA2-signed forms: "
    "tests/api/test_callbacks_alipay.py",
    "POST /v1/callbacks/wechat": "WeChat Pay is not configured on the local stack (404); signed headers and an "
    "AES-GCM resource: tests/api/test_callbacks_wechat.py",
    "POST /v1/callbacks/sandbox": "needs an HMAC over a body the document does not describe: "
    "tests/api/test_callbacks_sandbox.py",
}


@dataclass
class World:
    """The stack, the fuzzing member and the ids of real objects to aim path parameters at."""

    stack: LocalStack
    token: str
    ids: dict[str, str] = field(default_factory=dict)
    op_ids: dict[str, dict[str, str]] = field(default_factory=dict)  # operation -> its own objects
    bodies: dict[str, dict] = field(default_factory=dict)  # operation -> seeded values its valid bodies carry
    tokens: dict[str, str] = field(default_factory=dict)  # operation -> the member it is fuzzed as
    just_in_time: dict[str, Callable[[], dict[str, str]]] = field(default_factory=dict)  # -> its objects, seeded late
    seen: dict[tuple[str, int], int] = field(default_factory=dict)  # (operation, status) -> responses

    def record(self, operation: str, status: int) -> None:
        self.seen[(operation, status)] = self.seen.get((operation, status), 0) + 1

    def summary(self) -> str:
        total, by_status = sum(self.seen.values()), {}
        for (_, status), n in self.seen.items():
            by_status[status] = by_status.get(status, 0) + n
        reached = {op for (op, status) in self.seen if status < 300}
        ops = {op for op, _ in self.seen}
        return (
            f"{total} requests over {len(ops)} operations, statuses {dict(sorted(by_status.items()))}; "
            f"{len(reached)} operations answered 2xx at least once; never: {sorted(ops - reached)}"
        )

    def never_2xx(self) -> set[str]:
        return {op for op, _ in self.seen} - {op for (op, status) in self.seen if status < 300}

    def auth(self, operation: str, path: str) -> str:
        return f"Bearer {ADMIN_KEY if path.startswith('/v1/admin') else self.tokens.get(operation, self.token)}"


def _ok(status_body: tuple[int, dict], *expected: int) -> dict:
    status, body = status_body
    assert status in expected, (status, body)
    return body


def _seed(stack: LocalStack) -> World:
    """A gold member with one of each object (and one per operation that would consume a shared one);
    another member to blacklist; two pending reviews; webhooks, an event, group-buys and a team, a referral
    code and the credit-day reminder. The fuzzing member applies an hour apart, so the velocity rule never
    sends its objects to review. Everything is made on the day before a credit day (the clock moves there
    first), so the fuzzing member has its reminder and may confirm the day."""
    base = stack.base
    token = _sign_in(base, "fuzzer:780")
    team_leader, team_joiner = _sign_in(base, "fuzzleader:780"), _sign_in(base, "fuzzjoiner:780")  # a day old later
    _ok(call(base, "PUT", "/v1/me/reminders", {"credit_day": True}, token), 200)
    _to_day_before_credit_day(base)
    _ok(call(base, "POST", "/v1/credit/authorizations", {}, token), 201)  # a fresh snapshot: gold on the day
    _ok(call(base, "POST", "/v1/sandbox/jobs/run", {}), 200)  # the reminder is sent
    victim = _ok(call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": "fuzzvictim:700"}), 201)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}

    def now() -> datetime:
        return datetime.fromisoformat(_ok(call(base, "GET", "/v1/sandbox/clock"), 200)["now"].replace("Z", "+00:00"))

    def apply(path: str, body: dict, later: timedelta | None = None) -> str:
        _ok(call(base, "POST", "/v1/sandbox/clock", {"advance_seconds": 3_660}), 200)
        if later is not None:
            body = {**body, "starts_at": (now() + later).strftime("%Y-%m-%dT%H:%M:%SZ")}
        out = _ok(call(base, "POST", path, body, token), 201)
        assert out.get("decision") in (None, "approved", "deposit_free"), out
        return out["id"]

    order = {"kind": "pay_later", "scenario": "books", "amount": 10_000}
    booking = {"service_id": "spa-1", "price": 20_000}
    ids = {"member_id": victim["member_id"], "name": "books", "product_id": "fuzz-phone"}
    ids["rental_id"] = apply(
        "/v1/rentals", {"scenario": "books", "item_id": "b-1", "item_value": 50_000, "daily_rent": 500, "days": 7}
    )
    ids["order_id"], ids["booking_id"] = apply("/v1/orders", order), apply("/v1/bookings", booking, timedelta(days=3))
    charged = apply("/v1/orders", order)
    _ok(call(base, "POST", f"/v1/orders/{charged}/confirm", {}, token), 200)
    rental = {"scenario": "books", "item_id": "b-2", "item_value": 50_000, "daily_rent": 500, "days": 7}
    op_ids = {
        "POST /v1/orders/{order_id}/confirm": {"order_id": apply("/v1/orders", order)},
        "POST /v1/orders/{order_id}/cancel": {"order_id": apply("/v1/orders", order)},
        "POST /v1/orders/{order_id}/refund": {"order_id": charged},
        # the buyout takes ids["rental_id"]; a renewed rental is still returnable, but each has its own
        "POST /v1/rentals/{rental_id}/renew": {"rental_id": apply("/v1/rentals", rental)},
        "POST /v1/rentals/{rental_id}/return": {"rental_id": apply("/v1/rentals", rental)},
    }
    _ok(call(base, "POST", "/v1/admin/products/fuzz-trial/trial-slots", {"slots": 5}, headers=admin), 200, 201)
    ids["trial_id"] = apply("/v1/trials", {"product_id": "fuzz-trial", "item_value": 30_000, "days": 7})
    ids["reservation_id"] = _ok(call(base, "POST", "/v1/reservations", {"product_id": "fuzz-phone"}, token), 201)["id"]
    op_ids.update(_reviews(base, admin, {**order, "amount": 300_000}))
    ids["review_id"] = op_ids["POST /v1/admin/reviews/{review_id}/reject"]["review_id"]
    started = apply("/v1/bookings", booking, timedelta(minutes=10))
    op_ids["POST /v1/bookings/{booking_id}/complete"] = {"booking_id": started}
    _ok(call(base, "POST", "/v1/sandbox/clock", {"advance_seconds": 1_200}), 200)  # that booking has started
    webhook_ids, webhook_op_ids = _webhooks(base, admin)
    ids.update(webhook_ids)
    op_ids.update(webhook_op_ids)
    world = World(stack, token, ids, op_ids)
    _group_buys(world, admin, team_leader, team_joiner)
    _referral(world)
    _ok(call(base, "POST", "/v1/sandbox/jobs/run", {}), 200)  # the charge, the agreements, the freezes answered
    assert _ok(call(base, "GET", f"/v1/orders/{charged}", token=token), 200)["status"] == "charged"
    for rental_id in (op_ids["POST /v1/rentals/{rental_id}/renew"], op_ids["POST /v1/rentals/{rental_id}/return"]):
        assert _ok(call(base, "GET", f"/v1/rentals/{rental_id['rental_id']}", token=token), 200)["status"] == "active"
    [event] = _ok(call(base, "GET", "/v1/admin/events?limit=1", headers=admin), 200)["items"]  # events recorded
    ids["event_id"] = event["id"]
    return world


def _sign_in(base: str, code: str) -> str:
    token = _ok(call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": code}), 201)["token"]
    _ok(call(base, "POST", "/v1/credit/authorizations", {}, token), 201)
    return token


def _to_day_before_credit_day(base: str) -> None:
    """The clock to 00:10 on the day before next month's credit day (the local stack runs the default
    policy): the reminders go out that day."""
    now = datetime.fromisoformat(_ok(call(base, "GET", "/v1/sandbox/clock"), 200)["now"].replace("Z", "+00:00"))
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=10, second=0, microsecond=0)
    target = first.replace(day=Policy().credit_day) - timedelta(days=1)
    _ok(call(base, "POST", "/v1/sandbox/clock", {"advance_seconds": int((target - now).total_seconds())}), 200)


def _webhooks(base: str, admin: dict) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """An endpoint each for delete and rotate (neither removes the other's), on a loopback URL the local stage
    accepts; nothing listens there, which registration does not need."""
    made = {}
    for verb in ("delete", "rotate"):
        body = {"url": f"http://127.0.0.1:9/fuzz-{verb}", "events": ["referral.*"]}
        made[verb] = _ok(call(base, "POST", "/v1/admin/webhooks", body, headers=admin), 201)["id"]
    op_ids = {
        "DELETE /v1/admin/webhooks/{webhook_id}": {"webhook_id": made["delete"]},
        "POST /v1/admin/webhooks/{webhook_id}/rotate": {"webhook_id": made["rotate"]},
    }
    return {"webhook_id": made["rotate"]}, op_ids


def _group_buys(world: World, admin: dict, leader: str, joiner: str) -> None:
    """Two running group-buys: in one another member leads a team (its share code is the one aimed at) and the
    fuzzing member opens its own; in the other, that member opens a team for a member over a day old, with
    no objects of its own (never blacklisted by an overdue rental), to join. A team lasts at most a week and
    the clock's fuzzing runs before the join's, so that team is opened as the join's fuzzing starts."""
    base = world.stack.base
    gb_open, gb_join = (
        _ok(call(base, "POST", "/v1/admin/group-buys", {**GROUP_BUY, "team_size": 2}, headers=admin), 201)["id"]
        for _ in range(2)
    )
    _ok(call(base, "POST", "/v1/credit/authorizations", {}, leader), 201)  # a fresh snapshot after the month
    team = _ok(call(base, "POST", f"/v1/group-buys/{gb_open}/teams", {"quantity": 1}, leader), 201)
    world.ids.update(gb_id=gb_open, share_code=team["share_code"])
    join = "POST /v1/teams/{share_code}/join"
    world.tokens[join] = joiner

    def team_to_join() -> dict[str, str]:
        for member in (leader, joiner):  # fresh credit snapshots at whatever time the clock has reached
            _ok(call(base, "POST", "/v1/credit/authorizations", {}, member), 201)
        opened = _ok(call(base, "POST", f"/v1/group-buys/{gb_join}/teams", {"quantity": 1}, leader), 201)
        return {"share_code": opened["share_code"]}

    world.just_in_time[join] = team_to_join


def _referral(world: World) -> None:
    """Binding a referral code is for members without an order: a new member binds another member's code."""
    base, bind = world.stack.base, "POST /v1/me/referral"
    referrer = _sign_in(base, "fuzzreferrer:700")
    world.bodies[bind] = {"code": _ok(call(base, "GET", "/v1/me/referral", token=referrer), 200)["code"]}
    world.tokens[bind] = _sign_in(base, "fuzzreferee:700")


def _reviews(base: str, admin: dict, large_order: dict) -> dict[str, dict[str, str]]:
    """A pending review for each of approve and reject: a new member's first order over 2,000 yuan."""
    op_ids = {}
    for n, verb in enumerate(("approve", "reject")):
        other = _ok(call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": f"fuzzreviewed{n}:780"}), 201)
        _ok(call(base, "POST", "/v1/credit/authorizations", {}, other["token"]), 201)
        flagged = _ok(call(base, "POST", "/v1/orders", large_order, other["token"]), 201)
        assert flagged["decision"] == "review", flagged
        pending = _ok(call(base, "GET", "/v1/admin/reviews?status=pending", headers=admin), 200)["items"]
        [review] = [i for i in pending if i["ref_id"] == flagged["id"]]
        op_ids[f"POST /v1/admin/reviews/{{review_id}}/{verb}"] = {"review_id": review["id"]}
    return op_ids


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # Under pytest-xdist schemathesis gives one test for the whole document instead of one per operation.
    assert "PYTEST_XDIST_WORKER" not in os.environ, "run tests/fuzz in one process (pytest -n 0)"
    stack = LocalStack(tmp_path_factory.mktemp("fuzz") / "stack.log")
    stack.start()
    started = time.perf_counter()
    world = None
    try:
        world = _seed(stack)
        yield world
    finally:
        stack.stop()
    errors = [line for line in stack.output().splitlines() if '"level":"ERROR"' in line]
    print(
        f"\nfuzz: {time.perf_counter() - started:.1f}s, {world.summary() if world else ''}; "
        f"stack logged {len(errors)} ERROR lines (log: {stack.log_path})"
    )


def _document() -> dict:
    """The document the stack serves at /v1/openapi.json, built here by the same generator (the stack runs
    this checkout); test_the_stack_serves_the_fuzzed_document holds the two equal. Loading it at
    collection gives one test per operation (schemathesis's lazy fixture loader breaks on pytest 9)."""
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import document

    return document()


@pytest.fixture
def granted(world):
    """Re-grant credit before each operation (DELETE /v1/credit/authorization may have withdrawn it)."""
    _ok(call(world.stack.base, "POST", "/v1/credit/authorizations", {}, world.token), 201)
    return world


def error_envelope(ctx, response, case) -> bool | None:
    """Every 4xx is `{"error": {"code", "message", "field"}}` as JSON, with the code API.md gives its status."""
    if not 400 <= response.status_code < 500:
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        f"{response.status_code} without a JSON content type: {response.headers.get('content-type')}"
    )
    try:
        body = response.json()
    except Exception as exc:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.text[:200]!r}") from exc
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an error envelope: {body!r}"
    err = body["error"]
    assert isinstance(err, dict) and set(err) == {"code", "message", "field"}, f"bad envelope keys: {body!r}"
    assert isinstance(err["code"], str) and CODE.match(err["code"]), f"bad error code: {err['code']!r}"
    assert isinstance(err["message"], str) and err["message"], f"empty message: {body!r}"
    assert err["field"] is None or isinstance(err["field"], str), f"field must be a string or null: {body!r}"
    allowed = CODES_FOR_STATUS.get(response.status_code)
    assert allowed is None or err["code"] in allowed, f"{response.status_code} with code {err['code']!r}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(modes=["positive", "negative"], with_security_parameters=False, database="none")


def test_the_stack_serves_the_fuzzed_document(world):
    assert _ok(call(world.stack.base, "GET", "/v1/openapi.json"), 200) == _document()


@schema.parametrize()
@schema.given(real_ids=st.sampled_from([True, True, True, False]))  # a one-shot transition needs one hit
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_survives_fuzzing(case, real_ids, granted):
    operation = f"{case.method} {case.path}"
    if operation in granted.just_in_time:  # the first example seeds them, as the operation's fuzzing starts
        granted.op_ids[operation] = granted.just_in_time[operation]()
        del granted.just_in_time[operation]  # only once it worked: a failure fails every example alike
    aimed = {**granted.ids, **granted.op_ids.get(operation, {})}
    if real_ids and case.path_parameters:
        for name in case.path_parameters:
            if name in aimed:
                case.path_parameters[name] = aimed[name]
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    aims = {**BODY_AIMS.get(operation, {}), **granted.bodies.get(operation, {})}
    if real_ids and positive and isinstance(case.body, dict) and aims:
        case.body.update({k: v for k, v in aims.items() if v is not None or k in case.body})
    case.headers = {**(case.headers or {}), "Authorization": granted.auth(operation, case.path)}
    response = case.call(base_url=granted.stack.base, timeout=TIMEOUTS.get(operation, 30))
    granted.record(operation, response.status_code)
    case.validate_response(response, checks=CHECKS, additional_checks=[error_envelope])


def test_every_operation_answered_2xx_at_least_once(world):
    """Runs after the fuzzing above (same module): an operation the fuzzer never brought to a 2xx was only
    ever tested on its error branches."""
    documented = {f"{method.upper()} {path}" for path, ops in _document()["paths"].items() for method in ops}
    assert {op for op, _ in world.seen} == documented, "run the whole module: some operations were not fuzzed"
    assert set(NEVER_2XX) <= documented
    assert world.never_2xx() == set(NEVER_2XX), world.summary()
