"""The one table of due work: every sweep (scheduled: find due work through an index, enqueue) with how
often the local scheduler runs it (the deployed schedules are in lambdas.py), and every queue's worker.
Imported by the runner on a job's first run, never by `import app`."""

from __future__ import annotations

from ..services.marketing.coupon_drops import QUEUE as COUPON_DROPS
from . import (
    coupons,
    intents,
    members,
    metrics,
    orders,
    outbox,
    providers,
    rentals,
    reservations,
    sandbox,
    thresholds,
    trials,
)
from . import reconciliation as bills
from .group_buys import expire_group_teams, team_timer
from .referrals import hold_referral_rewards, referral_timer
from .registry import SHARD_QUEUE, SweepSpec, Worker, sweep_shard
from .reminders import send_credit_day_reminders, send_reminders
from .webhooks import deliver as deliver_webhook
from .webhooks import retry_webhooks

SWEEPS: dict[str, SweepSpec] = {
    spec.name: spec
    for spec in (
        SweepSpec("expire_authorizations", members.expire_authorizations, every_seconds=60),
        SweepSpec("publish_events", outbox.publish_events, every_seconds=5),
        SweepSpec("deduct_overdue_rentals", rentals.deduct_overdue_rentals, every_seconds=60),
        SweepSpec("charge_due_orders", orders.charge_due_orders, every_seconds=60),
        SweepSpec("expire_reservation_offers", reservations.expire_reservation_offers, every_seconds=300),
        SweepSpec("settle_trials", trials.settle_trials, every_seconds=60),
        SweepSpec("refresh_provider_keys", providers.refresh_provider_keys, every_seconds=86_400),
        SweepSpec("close_orphaned_intents", intents.close_orphaned_intents, every_seconds=60),
        SweepSpec("fold_metrics", metrics.fold_metrics, every_seconds=60),
        SweepSpec("adjust_thresholds", thresholds.adjust_thresholds, every_seconds=600),
        SweepSpec("drop_credit_day_coupons", coupons.drop_credit_day_coupons, every_seconds=60),
        SweepSpec("start_campaigns", coupons.start_campaigns, every_seconds=60),
        SweepSpec("retry_webhooks", retry_webhooks, every_seconds=5),
        SweepSpec("expire_group_teams", expire_group_teams, every_seconds=60),
        SweepSpec("hold_referral_rewards", hold_referral_rewards, every_seconds=300),
        SweepSpec("send_credit_day_reminders", send_credit_day_reminders, every_seconds=300),
        SweepSpec("reconcile_bills", bills.reconcile_bills, every_seconds=3_600),
    )
}

# Drained in this order locally: the shard readers first, so one round moves a timer to its worker.
WORKERS: dict[str, Worker] = {
    SHARD_QUEUE: sweep_shard,
    "member-timers": members.expire_one,
    "outbox": outbox.publish_one,
    "sandbox-notifications": sandbox.deliver,
    "rental-timers": rentals.rental_timer,
    "rental-settlements": rentals.release_freezes,
    "order-charges": orders.charge_one,
    "reservation-timers": reservations.expire_one,
    "order-timers": trials.wake_trial,
    "provider-intents": intents.close_orphan,
    metrics.QUEUE: metrics.fold_shard,
    "thresholds": thresholds.adjust_one,
    COUPON_DROPS: coupons.handle_drop,
    "webhook-deliveries": deliver_webhook,
    "team-timers": team_timer,
    "referral-timers": referral_timer,
    "reminders": send_reminders,
    bills.QUEUE: bills.reconcile_one,
}
