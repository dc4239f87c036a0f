"""The stock view: a SKU across the locations the caller may see, and paged levels."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from helpers.stock import assert_ledger_balanced
from helpers.webstore import location, new_product

from db.repositories import reservations, stock
from db.session import Database


async def test_stock_view_numbers_and_scoping(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ops: httpx.AsyncClient, db: Database, mia, luis, carl
) -> None:
    sku = new_product(db, {"BER": 10, "WH1": 5}, safety={"BER": 2})
    with db.unit_of_work() as s:
        ber, wh1 = location(s, "BER"), location(s, "WH1")
        reservations.reserve(
            s,
            kind="order",
            reference=f"test:{sku}",
            holds=[reservations.Hold(ber, sku, 3)],
        )
        stock.apply_movements(  # a returned unit waiting for inspection at WH1
            s,
            wh1,
            [stock.Movement(sku, 1, "return", "test", f"test:{sku}:q", bucket="quarantine")],
            workflow_id=None,
            occurred_at=datetime.now(UTC),
        )
    r = await ops.get(f"/stock/levels/{sku}", headers=mia)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sku"] == sku and body["name"] == f"Test {sku}"
    by = {x["location"]: x for x in body["locations"]}
    assert set(by) == {"BER", "LIS", "WH1"}
    assert {k: by["BER"][k] for k in ("on_hand", "reserved", "safety_stock", "available")} == {
        "on_hand": 10,
        "reserved": 3,
        "safety_stock": 2,
        "available": 5,
    }
    assert (by["WH1"]["on_hand"], by["WH1"]["quarantined"], by["WH1"]["available"]) == (5, 1, 5)
    assert (by["LIS"]["on_hand"], by["LIS"]["available"]) == (0, 0)  # never held it

    # Luis works at LIS only: he sees LIS and nothing else.
    mine = (await ops.get(f"/stock/levels/{sku}", headers=luis)).json()
    assert [x["location"] for x in mine["locations"]] == ["LIS"]

    page = (await ops.get(f"/stock/levels?location=BER&q={sku.lower()}", headers=mia)).json()
    assert page["total"] == 1 and page["items"][0]["sku"] == sku
    assert page["items"][0]["location"] == "BER" and page["items"][0]["available"] == 5
    every = (await ops.get(f"/stock/levels?q={sku}&per_page=1", headers=mia)).json()
    assert every["total"] == 2 and len(every["items"]) == 1

    assert (await ops.get("/stock/levels/NO-SUCH-SKU", headers=mia)).status_code == 404
    assert (await ops.get("/stock/levels?location=LIS", headers=carl)).status_code == 403
    assert (await ops.get("/stock/levels?location=NOPE", headers=mia)).status_code == 404
    assert (await ops.get("/stock/levels?per_page=0", headers=mia)).status_code == 422
    with db.unit_of_work() as s:
        reservations.release(s, kind="order", reference=f"test:{sku}")
    assert_ledger_balanced(db)
