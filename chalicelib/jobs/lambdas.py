"""The deployed Lambda functions for schedules and queues. Each calls the same functions the local
scheduler, the local pollers and /v1/sandbox/jobs/run call."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron, Rate

from ..lazy import Lazy
from ..store.schema import queue_names

bp = Blueprint(__name__)
runner = Lazy("chalicelib.jobs.runner")  # each function's cold start loads only what it runs
# Queue names are fixed per deployment (Chalice needs them at package time, before any config is read).
QUEUE = queue_names("creditfirst-")
# The table's stream ARN exists only once the table does: the merge template replaces this placeholder
# with the table's StreamArn (store/template.py).
STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/creditfirst/stream/set-by-merge-template"


@bp.on_sqs_message(queue=QUEUE["timer-shards"], batch_size=10, name="sweep_timer_shard")
def sweep_timer_shard(event: Any) -> dict:
    return runner.handle_batch("timer-shards", event)


@bp.schedule(Rate(1, unit=Rate.DAYS), name="expire_authorizations")
def expire_authorizations(event: Any) -> int:
    return runner.run_sweep("expire_authorizations")


@bp.on_sqs_message(queue=QUEUE["member-timers"], batch_size=10, name="expire_authorization")
def expire_authorization(event: Any) -> dict:
    return runner.handle_batch("member-timers", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="publish_events")
def publish_events(event: Any) -> int:
    return runner.run_sweep("publish_events")


@bp.on_sqs_message(queue=QUEUE["outbox"], batch_size=10, name="publish_event")
def publish_event(event: Any) -> dict:
    return runner.handle_batch("outbox", event)


@bp.on_sqs_message(queue=QUEUE["sandbox-notifications"], batch_size=10, name="deliver_sandbox_notifications")
def deliver_sandbox_notifications(event: Any) -> dict:
    return runner.handle_batch("sandbox-notifications", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="deduct_overdue_rentals")
def deduct_overdue_rentals(event: Any) -> int:
    return runner.run_sweep("deduct_overdue_rentals")


@bp.on_sqs_message(queue=QUEUE["rental-timers"], batch_size=10, name="rental_timers")
def rental_timers(event: Any) -> dict:
    return runner.handle_batch("rental-timers", event)


@bp.on_sqs_message(queue=QUEUE["rental-settlements"], batch_size=10, name="release_freezes")
def release_freezes(event: Any) -> dict:
    return runner.handle_batch("rental-settlements", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="charge_due_orders")
def charge_due_orders(event: Any) -> int:
    return runner.run_sweep("charge_due_orders")


@bp.on_sqs_message(queue=QUEUE["order-charges"], batch_size=10, name="charge_order")
def charge_order(event: Any) -> dict:
    return runner.handle_batch("order-charges", event)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="expire_reservation_offers")
def expire_reservation_offers(event: Any) -> int:
    return runner.run_sweep("expire_reservation_offers")


@bp.on_sqs_message(queue=QUEUE["reservation-timers"], batch_size=10, name="expire_reservation_offer")
def expire_reservation_offer(event: Any) -> dict:
    return runner.handle_batch("reservation-timers", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="settle_trials")
def settle_trials(event: Any) -> int:
    return runner.run_sweep("settle_trials")


@bp.on_sqs_message(queue=QUEUE["order-timers"], batch_size=10, name="wake_trial")
def wake_trial(event: Any) -> dict:
    return runner.handle_batch("order-timers", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="fold_metrics")
def fold_metrics(event: Any) -> int:
    return runner.run_sweep("fold_metrics")


@bp.on_sqs_message(queue=QUEUE["metric-folds"], batch_size=10, name="fold_metric_shard")
def fold_metric_shard(event: Any) -> dict:
    return runner.handle_batch("metric-folds", event)


@bp.schedule(Rate(1, unit=Rate.DAYS), name="adjust_thresholds")
def adjust_thresholds(event: Any) -> int:
    return runner.run_sweep("adjust_thresholds")


@bp.on_sqs_message(queue=QUEUE["thresholds"], batch_size=10, name="adjust_threshold")
def adjust_threshold(event: Any) -> dict:
    return runner.handle_batch("thresholds", event)


# Daily at 00:05 UTC: the sweep acts only on/after the month's credit day (policy.credit_day, 8 by
# default) and only once a month, so a changed credit day or a failed run is caught up the next day.
@bp.schedule(Cron(5, 0, "*", "*", "?", "*"), name="drop_credit_day_coupons")
def drop_credit_day_coupons(event: Any) -> int:
    return runner.run_sweep("drop_credit_day_coupons")


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="start_campaigns")
def start_campaigns(event: Any) -> int:
    return runner.run_sweep("start_campaigns")


@bp.on_sqs_message(queue=QUEUE["coupon-drops"], batch_size=1, name="drop_coupons")
def drop_coupons(event: Any) -> dict:
    return runner.handle_batch("coupon-drops", event)


@bp.schedule(Rate(1, unit=Rate.DAYS), name="refresh_provider_keys")
def refresh_provider_keys(event: Any) -> int:
    return runner.run_sweep("refresh_provider_keys")


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="close_orphaned_intents")
def close_orphaned_intents(event: Any) -> int:
    return runner.run_sweep("close_orphaned_intents")


@bp.on_sqs_message(queue=QUEUE["provider-intents"], batch_size=10, name="close_orphan")
def close_orphan(event: Any) -> dict:
    return runner.handle_batch("provider-intents", event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="retry_webhooks")
def retry_webhooks(event: Any) -> int:
    return runner.run_sweep("retry_webhooks")


@bp.on_sqs_message(queue=QUEUE["webhook-deliveries"], batch_size=1, name="deliver_webhooks")
def deliver_webhooks(event: Any) -> dict:  # one per invocation: an attempt may take its full 10 s
    return runner.handle_batch("webhook-deliveries", event)


@bp.on_dynamodb_record(
    stream_arn=STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON", name="publish_stream_events"
)
def publish_stream_events(event: Any) -> dict:
    """Event entries from the table's stream, within seconds of their commit (jobs/stream.py)."""
    return runner.handle_stream(event)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="expire_group_teams")
def expire_group_teams(event: Any) -> int:
    return runner.run_sweep("expire_group_teams")


@bp.on_sqs_message(queue=QUEUE["team-timers"], batch_size=10, name="team_timers")
def team_timers(event: Any) -> dict:
    return runner.handle_batch("team-timers", event)


@bp.schedule(Rate(1, unit=Rate.HOURS), name="hold_referral_rewards")
def hold_referral_rewards(event: Any) -> int:
    return runner.run_sweep("hold_referral_rewards")


@bp.on_sqs_message(queue=QUEUE["referral-timers"], batch_size=10, name="referral_timers")
def referral_timers(event: Any) -> dict:
    return runner.handle_batch("referral-timers", event)


# Daily at 01:00 UTC: acts only on the day before the month's credit day, once a month.
@bp.schedule(Cron(0, 1, "*", "*", "?", "*"), name="send_credit_day_reminders")
def send_credit_day_reminders(event: Any) -> int:
    return runner.run_sweep("send_credit_day_reminders")


@bp.on_sqs_message(queue=QUEUE["reminders"], batch_size=1, name="send_reminders")
def send_reminders(event: Any) -> dict:
    return runner.handle_batch("reminders", event)


# 03:00 UTC: Alipay's and WeChat Pay's bills of the previous day are ready by 10:00 Beijing time (02:00 UTC).
@bp.schedule(Cron(0, 3, "*", "*", "?", "*"), name="reconcile_bills")
def reconcile_bills(event: Any) -> int:
    return runner.run_sweep("reconcile_bills")


@bp.on_sqs_message(queue=QUEUE["bill-reconciliations"], batch_size=1, name="reconcile_bill")
def reconcile_bill(event: Any) -> dict:  # one provider's bill a call: a download may take a while
    return runner.handle_batch("bill-reconciliations", event)
