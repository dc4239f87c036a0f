"""The in-store sale end to end: HTTP → Sale workflow → local activities → device worker."""

from __future__ import annotations

import asyncio
import uuid

from helpers.stock import assert_ledger_balanced, ledger_sum, on_hand
from sqlalchemy import select

from contracts.common import SA_STORE, SA_TILL
from db.models import Order, Payment, StockMovement
from workflows.receipt import ReprintWorkflow
from workflows.sale import SaleWorkflow


def new_id() -> str:
    return uuid.uuid4().hex[:16]


async def test_lookup_by_barcode(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from db.repositories import catalog

    with db.unit_of_work() as s:
        till = catalog.till_view(s, "BER1")
        assert till is not None
        item = catalog.items_by_sku(s, till.location_id, ["MUG-ENAMEL"])["MUG-ENAMEL"]
    r = await api.get("/tills/BER1/lookup", params={"barcode": item.barcodes[0]}, headers=cashier)
    assert r.status_code == 200
    body = r.json()
    assert body["sku"] == "MUG-ENAMEL" and body["unit_price"] == 1290 and body["currency"] == "EUR"
    assert body["on_hand"] >= 0


async def test_unknown_barcode_is_404_with_message(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.get("/tills/BER1/lookup", params={"barcode": "0000000000000"}, headers=cashier)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "No product has barcode 0000000000000."


async def test_quote_prices_with_store_tax_and_changes_nothing(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = on_hand(db, "BER", "TEA-GREEN")
    r = await api.post(
        "/tills/BER1/quote",
        json={"lines": [{"sku": "TEA-GREEN", "quantity": 3}, {"sku": "MUG-ENAMEL", "quantity": 1}]},
        headers=cashier,
    )
    assert r.status_code == 200, r.text
    q = r.json()
    # Berlin: reduced 7 %, standard 19 %, prices include tax, tax rounded per line.
    tea, mug = q["lines"]
    assert (tea["gross"], tea["net"], tea["tax"], tea["tax_rate_bp"]) == (2670, 2495, 175, 700)
    assert (mug["gross"], mug["net"], mug["tax"], mug["tax_rate_bp"]) == (1290, 1084, 206, 1900)
    assert q["total"] == 3960 and q["tax_total"] == 381 and q["subtotal"] == 3579
    assert on_hand(db, "BER", "TEA-GREEN") == before


async def test_cash_sale_completes_records_and_prints(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, temporal_client, device_printers
) -> None:
    sku = "NOTEBOOK-A5"
    before = on_hand(db, "BER", sku)
    client_id = new_id()
    r = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": client_id,
            "lines": [{"sku": sku, "quantity": 2}],
            "tenders": [{"kind": "cash", "amount": 5000}],
        },
        headers=cashier,
    )
    assert r.status_code == 200, r.text
    sale = r.json()
    assert sale["status"] == "completed" and sale["total"] == 2900 and sale["change_due"] == 2100
    assert sale["workflow_id"] == f"sale:BER1:{client_id}"
    assert sale["sale_id"].startswith("BER1-") and sale["warnings"] == []

    assert on_hand(db, "BER", sku) == before - 2
    assert ledger_sum(db, "BER", sku) == on_hand(db, "BER", sku)
    with db.unit_of_work() as s:
        moves = s.scalars(
            select(StockMovement).where(StockMovement.workflow_id == sale["workflow_id"])
        ).all()
        assert [(m.sku, m.delta, m.reason) for m in moves] == [(sku, -2, "sale")]
        pay = s.scalars(select(Payment).where(Payment.workflow_id == sale["workflow_id"])).one()
        assert (pay.tender, pay.amount, pay.tendered, pay.status) == (
            "cash",
            2900,
            5000,
            "completed",
        )

    handle = temporal_client.get_workflow_handle(sale["workflow_id"])
    await asyncio.wait_for(handle.result(), timeout=30)  # drawer + receipt done
    status = await handle.query(SaleWorkflow.status)
    assert status.receipt_printed and status.drawer_opened and status.step == "completed"
    printed = device_printers["BER1"].read_bytes()
    assert sale["sale_id"].encode() in printed and b"\x1bp" in printed  # barcode text, drawer pulse
    desc = await handle.describe()
    attrs = {k.name: v for k, v in ((p.key, p.value) for p in desc.typed_search_attributes)}
    assert attrs[SA_STORE] == "BER" and attrs[SA_TILL] == "BER1"


async def test_same_client_sale_id_returns_same_sale_and_changes_nothing(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, cashier, db, temporal_client
) -> None:
    body = {
        "client_sale_id": new_id(),
        "lines": [{"sku": "PENCIL-SET", "quantity": 1}],
        "tenders": [{"kind": "cash", "amount": 990}],
    }
    first = await api.post("/tills/BER1/sales", json=body, headers=cashier)
    after_first = on_hand(db, "BER", "PENCIL-SET")
    again = await asyncio.gather(
        *(api.post("/tills/BER1/sales", json=body, headers=cashier) for _ in range(3))
    )
    assert first.status_code == 200 and all(r.status_code == 200 for r in again)
    assert {r.json()["sale_id"] for r in again} == {first.json()["sale_id"]}
    assert on_hand(db, "BER", "PENCIL-SET") == after_first
    # Once the workflow has closed (receipt printed), the database answers the repeat.
    await temporal_client.get_workflow_handle(first.json()["workflow_id"]).result()
    late = await api.post("/tills/BER1/sales", json=body, headers=cashier)
    assert late.status_code == 200 and late.json() == first.json()
    assert on_hand(db, "BER", "PENCIL-SET") == after_first
    with db.unit_of_work() as s:
        n = s.scalars(select(Order).where(Order.workflow_id == first.json()["workflow_id"])).all()
        assert len(n) == 1


async def test_sale_of_zero_on_hand_succeeds_with_warning(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = "LAMP-DESK"
    have = on_hand(db, "BER", sku)
    r = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": new_id(),
            "lines": [{"sku": sku, "quantity": have + 1}],
            "tenders": [{"kind": "cash", "amount": 6900 * (have + 1)}],
        },
        headers=cashier,
    )
    assert r.status_code == 200, r.text
    assert on_hand(db, "BER", sku) == -1
    assert "sold" in r.json()["warnings"][0] and "on hand" in r.json()["warnings"][0]
    # A second sale at -1 on hand: still sold, still warned.
    r2 = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": new_id(),
            "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 6900}],
        },
        headers=cashier,
    )
    assert r2.status_code == 200 and r2.json()["warnings"]
    assert_ledger_balanced(db)


async def test_refused_sales_are_4xx_and_write_nothing(api, cashier, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    before = on_hand(db, "BER", "CANDLE-FIG")
    short = {
        "client_sale_id": new_id(),
        "lines": [{"sku": "CANDLE-FIG", "quantity": 1}],
        "tenders": [{"kind": "cash", "amount": 100}],
    }
    r = await api.post("/tills/BER1/sales", json=short, headers=cashier)
    # Short tender: the sale stays open with what is still due; the rest can follow.
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["due"] == 2390
    more = await api.post(
        f"/tills/BER1/sales/{short['client_sale_id']}/tenders",
        json={"tenders": [{"kind": "cash", "amount": 2390}]},
        headers=cashier,
    )
    assert more.status_code == 200 and more.json()["status"] == "completed", more.text
    assert on_hand(db, "BER", "CANDLE-FIG") == before - 1
    closed = await api.post(
        f"/tills/BER1/sales/{short['client_sale_id']}/tenders",
        json={"tenders": [{"kind": "cash", "amount": 100}]},
        headers=cashier,
    )
    assert closed.status_code in (404, 409) and closed.json()["error"]["message"]

    unknown = {
        "client_sale_id": new_id(),
        "lines": [{"sku": "NO-SUCH", "quantity": 1}],
        "tenders": [{"kind": "cash", "amount": 100}],
    }
    r = await api.post("/tills/BER1/sales", json=unknown, headers=cashier)
    assert r.status_code == 404 and "NO-SUCH" in r.json()["error"]["message"]

    for bad in (
        {"client_sale_id": "x", "lines": [], "tenders": [{"kind": "cash", "amount": 1}]},
        {
            "client_sale_id": "x",
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 1}],
            "tenders": [{"kind": "card", "amount": 1, "simulate": "4242424242424242"}],
        },
        {
            "client_sale_id": "x",
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 1}],
            "tenders": [{"kind": "gift_card", "amount": 1}],
        },
        {
            "client_sale_id": "x",
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 0}],
            "tenders": [{"kind": "cash", "amount": 1}],
        },
        {
            "client_sale_id": "bad id!",
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 1}],
        },
        {
            "client_sale_id": "x",
            "lines": [{"sku": "MUG-ENAMEL", "quantity": 1}],
            "tenders": [{"kind": "cheque", "amount": 1}],
        },
    ):
        r = await api.post("/tills/BER1/sales", json=bad, headers=cashier)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid" and r.json()["error"]["message"]
    r = await api.post(
        "/tills/BER1/sales",
        content=b"{not json",
        headers={**cashier, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert_ledger_balanced(db)


async def test_idempotency_key_replays_first_answer(api, cashier) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = {"Idempotency-Key": new_id(), **cashier}
    body = {
        "client_sale_id": new_id(),
        "lines": [{"sku": "POSTCARD", "quantity": 1}],
        "tenders": [{"kind": "cash", "amount": 200}],
    }
    first = await api.post("/tills/BER1/sales", json=body, headers=key)
    second = await api.post("/tills/BER1/sales", json=body, headers=key)
    assert second.json() == first.json() and second.headers.get("Idempotent-Replay") == "true"
    other = await api.post(
        "/tills/BER1/sales", json={**body, "client_sale_id": new_id()}, headers=key
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


async def test_get_sale_and_reprint(api, cashier, temporal_client, device_printers) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post(
        "/tills/BER1/sales",
        json={
            "client_sale_id": new_id(),
            "lines": [{"sku": "SOAP-LAV", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 650}],
        },
        headers=cashier,
    )
    sale = r.json()
    got = await api.get(f"/tills/BER1/sales/{sale['sale_id']}", headers=cashier)
    assert got.status_code == 200 and got.json()["total"] == 650
    rp = await api.post(f"/tills/BER1/sales/{sale['sale_id']}/reprint", headers=cashier)
    assert rp.status_code == 202
    result = await temporal_client.get_workflow_handle_for(
        ReprintWorkflow.run, rp.json()["workflow_id"]
    ).result()
    assert result.done
    assert device_printers["BER1"].read_bytes().count(sale["sale_id"].encode()) >= 2
    missing = await api.post("/tills/BER1/sales/BER1-999999/reprint", headers=cashier)
    assert missing.status_code == 404
