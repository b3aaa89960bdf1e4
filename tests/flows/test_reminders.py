"""Member-day reminders over HTTP on the sandbox: the day before the credit day each opted-in silver or
gold member gets one reminder (reruns send nothing twice), may confirm once; operators see the counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import Api, fold_metrics


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.get("/v1/sandbox/clock")[1]["now"].replace("Z", "+00:00"))


def _to_day_before_credit_day(api: Api) -> str:
    """Move the clock to 00:10 on the 7th of the next month (the credit day is the 8th); its month."""
    now = _now(api)
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    target = first.replace(day=7, hour=0, minute=10, second=0, microsecond=0)
    api.advance(int((target - now).total_seconds()))
    return target.strftime("%Y-%m")


def _sandbox_reminders(aws, month: str) -> list[dict]:
    return list(
        aws.table.query(
            "list_pk = :p AND begins_with(list_sk, :m)", {":p": "sandbox#reminders", ":m": month}, index="list"
        )
    )


def test_one_reminder_per_opted_in_silver_or_gold_member_then_a_single_confirmation(client, aws):
    api = Api(client)
    codes = {"gold": "rmg:790", "silver": "rms:720", "normal": "rmn:650", "quiet": "rmq:790"}
    tokens = {k: api.sign_in(c) for k, c in codes.items()}
    for kind in ("gold", "silver", "normal"):
        status, out = api.put("/v1/me/reminders", {"credit_day": True}, token=tokens[kind])
        assert (status, out) == (200, {"credit_day": True})
    assert api.put("/v1/me/reminders", {"credit_day": "yes"}, token=tokens["gold"])[0] == 400
    month = _to_day_before_credit_day(api)
    for token in tokens.values():  # a fresh credit snapshot on the day (it lasts 30 days)
        assert api.post("/v1/credit/authorizations", {}, token=token)[0] == 201
    status, out = api.post("/v1/me/credit-day/confirm", {}, token=tokens["gold"])
    assert (status, out["error"]["code"]) == (409, "invalid_state")  # no reminder yet
    api.run_jobs()
    api.run_jobs()  # reruns send nothing twice
    sent = _sandbox_reminders(aws, month)
    assert sorted(r["to"] for r in sent) == ["rmg", "rms"]
    assert all(r["credit_date"] == f"{month}-08" for r in sent)
    status, out = api.post("/v1/me/credit-day/confirm", {}, token=tokens["gold"])
    assert (status, out["month"], out["confirmed"]) == (200, month, True)
    status, out = api.post("/v1/me/credit-day/confirm", {}, token=tokens["gold"])
    assert (status, out["error"]["code"]) == (409, "invalid_state")  # once per month
    assert api.post("/v1/me/credit-day/confirm", {}, token=tokens["quiet"])[0] == 409  # never reminded
    fold_metrics(aws)  # the counts are folded from the table's stream (seconds, deployed)
    status, report = api.admin("GET", f"/v1/admin/credit-day?month={month}")
    assert (status, report["reminded"], report["confirmed"], report["coupons_dropped"]) == (200, 2, 1, 0)
    api.advance(86_400)  # the credit day: the coupons drop
    api.run_jobs()
    api.run_jobs()
    assert len(_sandbox_reminders(aws, month)) == 2  # nothing more on the day itself
    report = api.admin("GET", f"/v1/admin/credit-day?month={month}")[1]
    assert (report["reminded"], report["confirmed"], report["coupons_dropped"]) == (2, 1, 3)
    assert api.admin("GET", "/v1/admin/credit-day?month=2026-13")[0] == 400
