"""The provider bench's figures still come out: `make bench` runs them against the strict fakes with an
in-memory stand-in for the table, which broke unseen when the table's update signature changed."""

from __future__ import annotations

from bench import providers


def test_the_wechat_figures_settle_and_charge_through_the_strict_fake_without_a_violation():
    figures = providers._wechat_figures()
    assert figures["wechat_fake_violations"] == 0
    assert (figures["wechat_settle_calls"], figures["wechat_charge_calls"]) == (2, 3)


def test_the_band_search_asks_zhima_at_most_three_times_for_any_score():
    assert providers._band_figures()["zhima_calls_max"] <= 3
