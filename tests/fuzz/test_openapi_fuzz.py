"""Schemathesis against /v1/openapi.json of the running local stack: every route, authenticated.

Checks on every response: never a 5xx, every 4xx in the error envelope of API.md (error_envelope below),
documented status codes and content types, 2xx bodies matching their schema, and schema-violating input
rejected with a 4xx. Path parameters are either generated or (half the time) the id of a real object
of the fuzzing member, so the handlers' logic is reached, not only the 404 branch.

FUZZ_EXAMPLES sets the examples per operation (default 20: about 45 s; `make fuzz` runs 300).
"""
from __future__ import annotations

import os
import re
import time
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

from tests.local_stack import LocalStack, call  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
ADMIN_KEY = "local-admin-key"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# What API.md fixes for a status; other 4xx statuses only need a well-formed envelope.
CODES_FOR_STATUS = {
    400: {"validation_error"}, 401: {"unauthenticated", "invalid_signature"}, 404: {"not_found"},
    405: {"method_not_allowed"}, 415: {"unsupported_media_type"}, 422: {"idempotency_key_reused"},
}


@dataclass
class World:
    """The stack, the fuzzing member and the ids of real objects to aim path parameters at."""

    stack: LocalStack
    token: str
    ids: dict[str, str] = field(default_factory=dict)
    seen: dict[tuple[str, int], int] = field(default_factory=dict)  # (operation, status) -> responses

    def record(self, operation: str, status: int) -> None:
        self.seen[(operation, status)] = self.seen.get((operation, status), 0) + 1

    def summary(self) -> str:
        total, by_status = sum(self.seen.values()), {}
        for (_, status), n in self.seen.items():
            by_status[status] = by_status.get(status, 0) + n
        reached = {op for (op, status) in self.seen if status < 300}
        ops = {op for op, _ in self.seen}
        return (f"{total} requests over {len(ops)} operations, statuses {dict(sorted(by_status.items()))}; "
                f"{len(reached)} operations answered 2xx at least once; never: {sorted(ops - reached)}")

    def auth(self, path: str) -> str:
        return f"Bearer {ADMIN_KEY if path.startswith('/v1/admin') else self.token}"


def _ok(status_body: tuple[int, dict], *expected: int) -> dict:
    status, body = status_body
    assert status in expected, (status, body)
    return body


def _seed(stack: LocalStack) -> World:
    """A gold member with one of each object; another member to blacklist."""
    base = stack.base
    token = _ok(call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": "fuzzer:780"}), 201)["token"]
    _ok(call(base, "POST", "/v1/credit/authorizations", {}, token), 201)
    victim = _ok(call(base, "POST", "/v1/sessions", {"provider": "sandbox", "code": "fuzzvictim:700"}), 201)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    now = datetime.fromisoformat(_ok(call(base, "GET", "/v1/sandbox/clock"), 200)["now"].replace("Z", "+00:00"))
    ids = {"member_id": victim["member_id"], "name": "books", "product_id": "fuzz-phone"}
    ids["rental_id"] = _ok(call(base, "POST", "/v1/rentals", {"scenario": "books", "item_id": "b-1", "item_value": 50_000,
                                                              "daily_rent": 500, "days": 7}, token), 201)["id"]
    ids["order_id"] = _ok(call(base, "POST", "/v1/orders", {"kind": "pay_later", "scenario": "books",
                                                            "amount": 10_000}, token), 201)["id"]
    starts = (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids["booking_id"] = _ok(call(base, "POST", "/v1/bookings", {"service_id": "spa-1", "starts_at": starts,
                                                                "price": 20_000}, token), 201)["id"]
    _ok(call(base, "POST", "/v1/admin/products/fuzz-trial/trial-slots", {"slots": 5}, headers=admin), 200, 201)
    ids["trial_id"] = _ok(call(base, "POST", "/v1/trials", {"product_id": "fuzz-trial", "item_value": 30_000,
                                                            "days": 7}, token), 201)["id"]
    ids["reservation_id"] = _ok(call(base, "POST", "/v1/reservations", {"product_id": "fuzz-phone"}, token), 201)["id"]
    review = _ok(call(base, "POST", "/v1/orders", {"kind": "pay_later", "scenario": "high_value",
                                                   "amount": 900_000}, token), 201)
    reviews = _ok(call(base, "GET", "/v1/admin/reviews?status=pending", headers=admin), 200)["items"]
    ids["review_id"] = reviews[0]["id"] if reviews else review["id"]
    return World(stack, token, ids)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
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
    print(f"\nfuzz: {time.perf_counter() - started:.1f}s, {world.summary() if world else ''}; "
          f"stack logged {len(errors)} ERROR lines (log: {stack.log_path})")


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
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), \
        f"{response.status_code} without a JSON content type: {response.headers.get('content-type')}"
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


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(modes=["positive", "negative"], with_security_parameters=False, database="none")


def test_the_stack_serves_the_fuzzed_document(world):
    assert _ok(call(world.stack.base, "GET", "/v1/openapi.json"), 200) == _document()


@schema.parametrize()
@schema.given(real_ids=st.booleans())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_survives_fuzzing(case, real_ids, granted):
    if real_ids and case.path_parameters:
        for name in case.path_parameters:
            if name in granted.ids:
                case.path_parameters[name] = granted.ids[name]
    case.headers = {**(case.headers or {}), "Authorization": granted.auth(case.path)}
    response = case.call(base_url=granted.stack.base, timeout=30)
    granted.record(f"{case.method} {case.path}", response.status_code)
    case.validate_response(response, checks=CHECKS, additional_checks=[error_envelope])
