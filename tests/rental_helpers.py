"""Helpers for rental tests: apply, settle, look at the member, the ledger and the provider's operations."""

from __future__ import annotations

from typing import Any

from tests.helpers import Api

DAY = 86400


def rental_body(**over: Any) -> dict:
    body = {"scenario": "books", "item_id": "book-1", "item_value": 50_000, "daily_rent": 500, "days": 7}
    body.update(over)
    return body


def rent(api: Api, token: str, key: str | None = None, **over: Any) -> tuple[int, dict]:
    return api.post("/v1/rentals", rental_body(**over), token=token, key=key)


def active_rental(api: Api, token: str, **over: Any) -> dict:
    """A deposit-free rental whose freeze the provider has confirmed."""
    status, out = rent(api, token, **over)
    assert status == 201 and out["status"] == "pending_freeze", out
    api.run_jobs()
    status, out = api.get(f"/v1/rentals/{out['id']}", token=token)
    assert out["status"] == "active", out
    return out


def me(api: Api, token: str) -> dict:
    return api.get("/v1/me", token=token)[1]


def provider_op(aws: Any, out_request_no: str) -> dict | None:
    """The sandbox provider's record of one of our requests."""
    return aws.table.get(f"SBX#op#{out_request_no}", "OP")


def provider_ops(aws: Any, rental_id: str) -> dict[str, dict]:
    names = ["freeze", "deposit", "rent", "overdue", "release", "fulfil", "ded1", "ded2", "renew1"]
    return {n: op for n in names if (op := provider_op(aws, f"{rental_id}_{n}"))}


def audit_actions(aws: Any, rental_id: str) -> list[str]:
    return [a["action"] for a in aws.table.query("pk = :p", {":p": f"AUDIT#rental#{rental_id}"})]


def assert_ledger(rental: dict) -> None:
    held = rental["frozen_amount"] + rental["deposit_amount"]
    assert held == rental["rent_charged"] + rental["deducted_amount"] + rental["released_amount"], rental
