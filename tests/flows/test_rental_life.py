"""The rest of a rental's life over HTTP on the sandbox (PRODUCT.md 2a, API.md "Rest of a rental's life"):
itemised money, early return, renewal, buyout."""
from __future__ import annotations

from tests.helpers import Api
from tests.rental_helpers import DAY, active_rental, assert_ledger, me, provider_op


def _get(api, token, rid):
    return api.get(f"/v1/rentals/{rid}", token=token)[1]


def _taken(rental: dict) -> int:
    return sum(x["amount"] for x in rental["lines"]) - sum(x["amount"] for x in rental["discounts"])


def test_a_defaulted_rental_shows_rent_and_overdue_fee_lines_summing_to_what_was_taken(client, aws):
    api = Api(client)
    token = api.member("ida:720")
    rental = active_rental(api, token, days=3)
    api.advance(5 * DAY)
    api.run_jobs()
    closed = _get(api, token, rental["id"])
    assert closed["outcome"] == "defaulted"
    # 2 days and a moment late: 3 days of overdue fee on top of the 3 days' rent
    assert closed["lines"] == [{"name": "rent", "amount": 1_500}, {"name": "overdue_fee", "amount": 1_500}]
    assert closed["discounts"] == []
    assert _taken(closed) == closed["rent_charged"] + closed["deducted_amount"] == 3_000
    assert_ledger(closed)


def test_an_early_return_pays_rent_for_the_days_used_and_at_least_one(client, aws):
    api = Api(client)
    token = api.member("jon:720")
    first = active_rental(api, token, days=7)
    api.post(f"/v1/rentals/{first['id']}/return", {}, token=token)  # within the first day
    second = active_rental(api, token, days=7, item_id="book-2")
    api.advance(2 * DAY + 3600)  # in the third day
    api.post(f"/v1/rentals/{second['id']}/return", {}, token=token)
    api.run_jobs()
    one, three = _get(api, token, first["id"]), _get(api, token, second["id"])
    assert (one["rent_charged"], one["released_amount"], one["lines"]) == (500, 49_500, [{"name": "rent", "amount": 500}])
    assert (three["rent_charged"], three["released_amount"]) == (1_500, 48_500)
    assert provider_op(aws, f"{second['id']}_rent")["amount"] == 1_500
    assert provider_op(aws, f"{second['id']}_release")["fulfilled"] is True  # early is on time
    for closed in (one, three):
        assert closed["outcome"] == "returned" and _taken(closed) == closed["rent_charged"]
        assert_ledger(closed)
    assert me(api, token)["on_time_count"] == 2
