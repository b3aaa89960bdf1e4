"""CSV exports of orders, rentals, charges and refunds for a date range, parsed back: a header row, one
row per record, money in fen, days outside the range left out; read from the export index (no Scan)."""

from __future__ import annotations

import csv
import io

from chalicelib.domain.exports import COLUMNS
from tests.helpers import ADMIN, Api
from tests.rental_helpers import active_rental

DAY = 86400


def _csv(client, path: str) -> tuple[int, list[dict], str]:
    r = client.http.get(path, headers=dict(ADMIN))
    text = r.body.decode()
    if r.status_code != 200:
        return r.status_code, [], text
    assert r.headers["Content-Type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(text))
    return r.status_code, list(reader), ",".join(reader.fieldnames or [])


def test_orders_charges_and_refunds_of_a_range(client, aws):
    api = Api(client)
    token = api.member("exa:720")
    day1 = api.get("/v1/sandbox/clock")[1]["now"][:10]
    status, order = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 10_000}, token=token)
    assert status == 201
    api.post(f"/v1/orders/{order['id']}/confirm", token=token)
    api.advance(DAY)
    day2 = api.get("/v1/sandbox/clock")[1]["now"][:10]
    assert api.post(f"/v1/orders/{order['id']}/refund", {"amount": 3_000}, token=token)[0] == 200
    _, second = api.post("/v1/orders", {"kind": "pay_later", "scenario": "books", "amount": 2_500}, token=token)

    status, rows, header = _csv(client, f"/v1/admin/exports/orders.csv?from={day1}&to={day2}")
    assert status == 200 and header == ",".join(COLUMNS["orders"])
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {order["id"], second["id"]}
    assert (
        by_id[order["id"]]["payable"],
        by_id[order["id"]]["charged"],
        by_id[order["id"]]["refunded"],
        by_id[order["id"]]["status"],
    ) == ("10000", "10000", "3000", "partially_refunded")  # current state
    _, only_day1, _ = _csv(client, f"/v1/admin/exports/orders.csv?from={day1}&to={day1}")
    assert [r["id"] for r in only_day1] == [order["id"]]

    _, charges, _ = _csv(client, f"/v1/admin/exports/charges.csv?from={day1}&to={day2}")
    assert [(c["object_type"], c["object_id"], c["kind"], c["amount"]) for c in charges] == [
        ("order", order["id"], "charged", "10000")
    ]
    _, refunds, header = _csv(client, f"/v1/admin/exports/refunds.csv?from={day2}&to={day2}")
    assert header == ",".join(COLUMNS["refunds"])
    assert [(r["order_id"], r["amount"]) for r in refunds] == [(order["id"], "3000")]
    assert _csv(client, f"/v1/admin/exports/refunds.csv?from={day1}&to={day1}")[1] == []


def test_rentals_with_their_deductions_and_rent(client, aws):
    api = Api(client)
    token = api.member("exb:720")
    rental = active_rental(api, token, item_id='=HYPERLINK("x")')
    status, _ = api.admin("POST", f"/v1/admin/rentals/{rental['id']}/deductions", {"amount": 700, "reason": "scratch"})
    assert status in (200, 201)
    today = api.get("/v1/sandbox/clock")[1]["now"][:10]
    _, rentals, _ = _csv(client, f"/v1/admin/exports/rentals.csv?from={today}&to={today}")
    [row] = rentals
    assert (row["id"], row["status"], row["item_value"], row["deducted_amount"]) == (
        rental["id"],
        "active",
        "50000",
        "700",
    )
    assert row["item_id"] == '\'=HYPERLINK("x")'  # never a live formula in the merchant's spreadsheet
    _, charges, _ = _csv(client, f"/v1/admin/exports/charges.csv?from={today}&to={today}")
    assert [(c["object_id"], c["kind"], c["amount"]) for c in charges] == [(rental["id"], "deducted", "700")]
    assert charges[0]["out_request_no"]


def test_many_records_page_through_the_index(client, aws):
    """More rows than one BatchGetItem / Query page, spread over the listing's shards: every record once,
    in time order."""
    from chalicelib.clock import iso
    from chalicelib.domain.exports import index_prefix
    from chalicelib.store.day_index import day_pk

    now = aws.clock.now()
    items = []
    for i in range(250):
        at = iso(now).replace("Z", "")[:-4] + f".{i % 1000:03d}Z"
        oid = f"ord_bulk{i:04d}"
        items.append(
            {
                "pk": f"ORDER#{oid}",
                "sk": "ORDER",
                "type": "order",
                "id": oid,
                "status": "pending_charge",
                "payable": 100 + i,
                "amount": 100 + i,
                "created_at": at,
            }
        )
        items.append(
            {
                "pk": f"AUDIT#order#{oid}",
                "sk": f"{at}#{i:08x}",
                "type": "audit",
                "entity_id": f"order#{oid}",
                "event_type": "order.created",
                "at": at,
                "list_pk": day_pk(index_prefix("orders"), at[:10], f"order#{oid}"),
                "list_sk": f"{at}#{i:08x}",
            }
        )
    aws.table.batch_write(items)
    day = iso(now)[:10]
    status, rows, _ = _csv(client, f"/v1/admin/exports/orders.csv?from={day}&to={day}")
    assert status == 200 and len(rows) == 250
    assert [r["created_at"] for r in rows] == sorted(r["created_at"] for r in rows)  # merged in time order
    assert sorted(int(r["payable"]) for r in rows) == list(range(100, 350))


def test_bad_ranges_are_400_naming_the_field(client):
    assert _csv(client, "/v1/admin/exports/orders.csv?from=2026-13-01")[0] == 400
    status, _, text = _csv(client, "/v1/admin/exports/orders.csv?from=2026-02-02&to=2026-02-01")
    assert status == 400 and '"field": "from"' in text.replace('":"', '": "')
    assert _csv(client, "/v1/admin/exports/refunds.csv?bogus=1")[0] == 400
    assert client.http.get("/v1/admin/exports/orders.csv").status_code == 401
