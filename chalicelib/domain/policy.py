"""The business numbers of PRODUCT.md as one value: the domain's rules take it as an argument, and
config.py fills it from the environment (CREDITFIRST_POLICY)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _d(**values: int) -> dict[str, int]:
    return field(default_factory=lambda: dict(values))


@dataclass(frozen=True)
class Policy:
    """Business numbers from PRODUCT.md (money in fen, durations as named)."""

    score_floor: int = 550
    risk_thresholds: dict[str, int] = _d(low=600, medium=650, high=700)
    threshold_ceiling: int = 750
    threshold_step: int = 10
    bad_debt_target_bp: int = 200  # 2% in basis points
    bad_debt_min_closed: int = 50
    bad_debt_window_days: int = 90
    tier_limits: dict[str, int] = _d(none=100_000, normal=200_000, silver=500_000, gold=1_000_000)
    limit_raise_pct_per_on_time: int = 10
    limit_max_multiplier: int = 2
    authorization_days: int = 30
    grace_days: int = 1
    freeze_lapse_days: int = 90
    trial_days_min: int = 7
    trial_days_max: int = 30
    charge_retries: int = 3
    charge_retry_hours: int = 24
    collection_days: int = 7  # a charge the provider still reports unpaid this long after it is past_due
    freeze_confirm_minutes: int = 60  # a freeze the user has not confirmed by then is cancelled
    installment_min_amount: int = 60_000
    booking_free_cancel_hours: int = 24
    booking_fee_pct: int = 20
    booking_fee_cap: int = 5_000
    reservation_hold_days: int = 3
    reconcile_after_minutes: int = 15
    # PRODUCT.md 2a: the freeze is held this long after a return so operators can record damage
    inspection_hours: dict[str, int] = _d(
        books=0, power_bank=0, courses=0, clothing=24, digital=72, appliances=72, high_value=72
    )
    dispute_days: int = 7  # a member may dispute within this many days of close
    dispute_answer_days: int = 7  # an operator answers a dispute within this many days
    installment_pay_minutes: int = 30  # an unpaid Huabei trade closes after this (timeout_express)
    velocity_window_minutes: int = 60
    velocity_max_orders: int = 3
    shared_device_members: int = 3
    spike_multiplier: int = 3
    spike_min_amount: int = 100_000
    first_order_large_amount: int = 200_000
    first_order_subsidy: dict[str, int] = field(
        default_factory=lambda: {"600-649": 500, "650-699": 1_000, "700-749": 2_000, "750-799": 3_500, "800-950": 5_000}
    )
    coupon_valid_days: int = 30
    upgrade_reward: dict[str, int] = _d(silver=1_000, gold=3_000)
    credit_day: int = 8
    credit_day_coupon: dict[str, int] = _d(silver=1_500, gold=3_000)
    credit_day_min_spend: int = 9_900
