"""Goods receipts against a purchase order: two partial deliveries, an over-delivery on one line and
a short close on the other; the ledger, the levels, cost prices and the web-store sync queue."""

from __future__ import annotations

import uuid
from typing import Any

from helpers.stock import assert_ledger_balanced, ledger_sum, on_hand
from sqlalchemy import select

from db.models import Product, StockMovement
from db.models_webstore import StockSyncEntry


async def _supplier(kit: Any, *items: tuple[str, int, int]) -> str:
    code = f"SUP-{uuid.uuid4().hex[:6]}"
    r = await kit.api.post(
        "/purchasing/suppliers",
        json={"code": code, "name": "Acme Wholesale", "currency": "EUR", "lead_time_days": 4},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert r.status_code == 201, r.text
    for sku, cost, pack in items:
        r = await kit.api.put(
            f"/purchasing/suppliers/{code}/items/{sku}",
            json={"unit_cost": cost, "pack_size": pack, "preferred": True},
            headers={**kit.staff.manager, **kit.key()},
        )
        assert r.status_code == 200, r.text
    return code


async def _order(kit: Any, supplier: str, lines: list[dict[str, Any]]) -> str:
    r = await kit.api.post(
        "/purchasing/orders",
        json={"location": "BER", "supplier": supplier, "lines": lines},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    return str(r.json()["number"])


async def test_two_partial_deliveries_with_over_and_short(kit: Any) -> None:
    a, b = kit.sku(cost=500), kit.sku()
    kit.stock("BER", a, 10)  # 10 held at a cost of 5.00
    supplier = await _supplier(kit, (a, 400, 1), (b, 300, 1))
    number = await _order(kit, supplier, [{"sku": a, "quantity": 10}, {"sku": b, "quantity": 6}])
    # A draft takes no deliveries: it has to be sent first.
    early = await kit.api.post(
        "/stock/receipts",
        json={"location": "BER", "purchase_order": number, "lines": [{"sku": a, "quantity": 1}]},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "po_not_sent"
    sent = await kit.api.post(f"/purchasing/orders/{number}/send", headers=kit.staff.manager)
    assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text

    first_key = kit.key()
    body = {
        "receipt_id": f"R1-{uuid.uuid4().hex[:8]}",
        "location": "BER",
        "purchase_order": number,
        "lines": [{"sku": a, "quantity": 6}, {"sku": b, "quantity": 2}],
        "delivery_note": "DN-1",
    }
    r1 = await kit.api.post(
        "/stock/receipts", json=body, headers={**kit.staff.manager, **first_key}
    )
    assert r1.status_code == 201, r1.text
    assert r1.json()["purchase_order_status"] == "partially_received"
    assert [(ln["sku"], ln["expected"], ln["over"]) for ln in r1.json()["lines"]] == [
        (a, 10, 0),
        (b, 6, 0),
    ]
    again = await kit.api.post(
        "/stock/receipts", json=body, headers={**kit.staff.manager, **first_key}
    )
    assert again.json() == r1.json() and again.headers.get("Idempotent-Replay") == "true"

    with kit.db.unit_of_work() as s:  # the web stores hear of the new stock
        queued = set(s.scalars(select(StockSyncEntry.sku).where(StockSyncEntry.sku.in_([a, b]))))
    assert queued == {a, b}

    r2 = await kit.api.post(
        "/stock/receipts",
        json={
            "receipt_id": f"R2-{uuid.uuid4().hex[:8]}",
            "location": "BER",
            "purchase_order": number,
            "lines": [{"sku": a, "quantity": 6}, {"sku": b, "quantity": 3}],
            "close_short": True,
        },
        headers={**kit.staff.manager, **kit.key()},
    )
    assert r2.status_code == 201, r2.text
    assert r2.json()["purchase_order_status"] == "closed_short"
    lines = {ln["sku"]: ln for ln in r2.json()["lines"]}
    assert (lines[a]["expected"], lines[a]["over"]) == (4, 2)  # 2 more than ordered
    assert (lines[b]["expected"], lines[b]["short"]) == (4, 1)

    po = (await kit.api.get(f"/purchasing/orders/{number}", headers=kit.staff.manager)).json()
    by_sku = {ln["sku"]: ln for ln in po["lines"]}
    assert (by_sku[a]["quantity_received"], by_sku[a]["over"]) == (12, 2)
    assert (by_sku[b]["quantity_received"], by_sku[b]["short"]) == (5, 1)

    assert on_hand(kit.db, "BER", a) == 22 and ledger_sum(kit.db, "BER", a) == 22
    assert on_hand(kit.db, "BER", b) == 5 and ledger_sum(kit.db, "BER", b) == 5
    with kit.db.unit_of_work() as s:
        rows = s.execute(
            select(StockMovement.sku, StockMovement.delta, StockMovement.reason)
            .where(StockMovement.sku.in_([a, b]), StockMovement.reason != "opening_balance")
            .order_by(StockMovement.id)
        ).all()
        cost = s.scalar(select(Product.cost_price).where(Product.code == a))
    assert sorted(rows) == sorted(
        [(a, 6, "receipt"), (b, 2, "receipt"), (a, 6, "receipt"), (b, 3, "receipt")]
    )
    # Weighted average: (10 x 500 + 6 x 400) / 16 = 463, then (16 x 463 + 6 x 400) / 22 = 446.
    assert cost == 446
    assert_ledger_balanced(kit.db)

    # Closed short: no more deliveries.
    late = await kit.api.post(
        "/stock/receipts",
        json={"location": "BER", "purchase_order": number, "lines": [{"sku": b, "quantity": 1}]},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "po_closed"
    assert on_hand(kit.db, "BER", b) == 5

    got = await kit.api.get(f"/stock/receipts/{body['receipt_id']}", headers=kit.staff.manager)
    assert got.status_code == 200 and got.json()["delivery_note"] == "DN-1"
    other = await kit.api.get(f"/stock/receipts/{body['receipt_id']}", headers=kit.staff.lisbon)
    assert other.status_code == 404


async def test_free_receipt_and_bad_input(kit: Any) -> None:
    sku = kit.sku()
    ok = await kit.api.post(
        "/stock/receipts",
        json={"location": "BER", "lines": [{"sku": sku, "quantity": 3, "unit_cost": 250}]},
        headers={**kit.staff.manager, **kit.key()},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["purchase_order"] is None and ok.json()["lines"][0]["expected"] is None
    assert on_hand(kit.db, "BER", sku) == 3
    with kit.db.unit_of_work() as s:
        assert s.scalar(select(Product.cost_price).where(Product.code == sku)) == 250

    def post(body: dict[str, Any], who: dict[str, str] | None = None) -> Any:
        return kit.api.post(
            "/stock/receipts", json=body, headers={**(who or kit.staff.manager), **kit.key()}
        )

    negative = await post({"location": "BER", "lines": [{"sku": sku, "quantity": -2}]})
    assert negative.status_code == 422
    unknown_sku = await post({"location": "BER", "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]})
    assert unknown_sku.status_code == 404, unknown_sku.text
    assert unknown_sku.json()["error"]["code"] == "unknown_sku"
    unknown_loc = await post({"location": "NOWHERE", "lines": [{"sku": sku, "quantity": 1}]})
    assert unknown_loc.status_code == 404
    unknown_po = await post(
        {
            "location": "BER",
            "purchase_order": "PO-999999999",
            "lines": [{"sku": sku, "quantity": 1}],
        }
    )
    assert unknown_po.status_code == 404
    cashier = await post(
        {"location": "BER", "lines": [{"sku": sku, "quantity": 1}]}, kit.staff.cashier
    )
    assert cashier.status_code == 403
    elsewhere = await post(
        {"location": "BER", "lines": [{"sku": sku, "quantity": 1}]}, kit.staff.lisbon
    )
    assert elsewhere.status_code == 403
    assert on_hand(kit.db, "BER", sku) == 3  # nothing of the refused ones moved
    assert_ledger_balanced(kit.db)
