"""The rest of a rental's life, pure rules (PRODUCT.md 2a): days used, renewal fit, buyout price, itemised lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import rentals as rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_early_return_pays_for_the_days_begun_and_at_least_one():
    assert rules.days_used(T0, T0, 7) == 1
    assert rules.days_used(T0, T0 + timedelta(minutes=5), 7) == 1
    assert rules.days_used(T0, T0 + timedelta(days=2), 7) == 2
    assert rules.days_used(T0, T0 + timedelta(days=2, seconds=1), 7) == 3
    assert rules.days_used(T0, T0 + timedelta(days=9), 7) == 7  # late: the agreed term (+ the overdue fee)


def test_a_renewal_fits_only_while_rent_and_deductions_stay_within_the_freeze():
    assert rules.renewal_fits(10_000, 0, 10_000)
    assert not rules.renewal_fits(10_000, 1, 10_000)


def test_the_buyout_price_is_item_value_less_rent_accrued_never_below_zero_nor_beyond_the_freeze():
    assert rules.buyout_price(50_000, 1_500, 50_000, 0) == 48_500
    assert rules.buyout_price(1_000, 1_500, 50_000, 0) == 0
    assert rules.buyout_price(50_000, 1_500, 40_000, 2_000) == 36_500  # what is left after rent and deductions


@given(
    gross=st.integers(0, 10**7),
    discount=st.integers(0, 10**6),
    cap=st.integers(0, 10**7),
    extra=st.lists(
        st.tuples(
            st.sampled_from(["overdue_fee", "damage", "lost_accessory", "cleaning", "buyout"]), st.integers(0, 10**6)
        ),
        max_size=5,
    ),
)
def test_lines_less_discounts_always_sum_to_what_was_taken(gross, discount, cap, extra):
    rent_charged = min(max(gross - discount, 0), cap)
    lines, discounts = rules.itemise(gross, discount, rent_charged, extra)
    taken = rent_charged + sum(a for _, a in extra)
    assert sum(x["amount"] for x in lines) - sum(x["amount"] for x in discounts) == taken
    assert all(x["amount"] > 0 for x in lines + discounts)


def test_a_coupon_shows_as_a_discount_on_the_gross_rent():
    assert rules.itemise(3_500, 500, 3_000, [("overdue_fee", 1_000)]) == (
        [{"name": "rent", "amount": 3_500}, {"name": "overdue_fee", "amount": 1_000}],
        [{"name": "coupon", "amount": 500}],
    )


def test_a_charged_order_is_itemised_with_its_coupon_and_a_part_charged_plan_by_what_was_taken():
    from chalicelib.services.orders.orders import itemised

    assert itemised({"kind": "pay_later", "amount": 10_000, "payable": 9_000, "charged": 9_000}) == {
        "lines": [{"name": "pay_later", "amount": 10_000}],
        "discounts": [{"name": "coupon", "amount": 1_000}],
    }
    assert itemised({"kind": "installment", "amount": 120_000, "payable": 120_000, "charged": 20_000}) == {
        "lines": [{"name": "installment", "amount": 20_000}],
        "discounts": [],
    }
    assert itemised({"kind": "pay_later", "amount": 10_000, "payable": 10_000, "charged": 0}) == {
        "lines": [],
        "discounts": [],
    }


def test_an_inspection_hold_never_outlives_the_freeze():
    hour = timedelta(hours=1)
    assert rules.inspection_until(T0, 72 * hour, None, hour) == T0 + 72 * hour
    assert rules.inspection_until(T0, 72 * hour, T0 + 10 * hour, hour) == T0 + 9 * hour  # ends before the lapse
    assert rules.inspection_until(T0, 72 * hour, T0 + hour, hour) is None  # no room: settled at once
    assert rules.inspection_until(T0, timedelta(0), T0 + 100 * hour, hour) is None  # books: no hold
