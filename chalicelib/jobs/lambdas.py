"""The deployed Lambda functions for schedules and queues. Each calls the same functions the local
scheduler, the local pollers and /v1/sandbox/jobs/run call."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron, Rate

from ..store.schema import queue_names
from .runner import handle_batch, run_sweep

bp = Blueprint(__name__)
# Queue names are fixed per deployment (Chalice needs them at package time, before any config is read).
QUEUE = queue_names("creditfirst-")


@bp.schedule(Rate(1, unit=Rate.DAYS), name="expire_authorizations")
def expire_authorizations(event: Any) -> int:
    return run_sweep("expire_authorizations")


@bp.on_sqs_message(queue=QUEUE["member-timers"], batch_size=10, name="expire_authorization")
def expire_authorization(event: Any) -> dict:
    return handle_batch("member-timers", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="publish_events")
def publish_events(event: Any) -> int:
    return run_sweep("publish_events")


@bp.on_sqs_message(queue=QUEUE["outbox"], batch_size=10, name="publish_event")
def publish_event(event: Any) -> dict:
    return handle_batch("outbox", event)


@bp.on_sqs_message(queue=QUEUE["sandbox-notifications"], batch_size=10, name="deliver_sandbox_notifications")
def deliver_sandbox_notifications(event: Any) -> dict:
    return handle_batch("sandbox-notifications", event)


# Daily at 00:05 UTC: the sweep acts only on/after the month's credit day (policy.credit_day, 8 by
# default) and only once a month, so a changed credit day or a failed run is caught up the next day.
@bp.schedule(Cron(5, 0, "*", "*", "?", "*"), name="drop_credit_day_coupons")
def drop_credit_day_coupons(event: Any) -> int:
    return run_sweep("drop_credit_day_coupons")


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="start_campaigns")
def start_campaigns(event: Any) -> int:
    return run_sweep("start_campaigns")


@bp.on_sqs_message(queue=QUEUE["coupon-drops"], batch_size=1, name="drop_coupons")
def drop_coupons(event: Any) -> dict:
    return handle_batch("coupon-drops", event)
