"""The store-floor screens in a real headless Chromium, against the real workflows: a transfer
requested, picked and received (with the stock look-up showing it in transit), a count entered by
scanning and submitted, and a delivery booked against a purchase order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from helpers.api import password_login
from helpers.tills import Served
from helpers.webstore import barcode_of, level, location, new_product

from db.repositories import stock
from db.session import Database

QUEUE = f"bo-pages-stock-{uuid.uuid4().hex[:8]}"


@dataclass
class Floor:
    url: str
    http: httpx.AsyncClient
    mia: dict[str, str]


@pytest.fixture(scope="module")
async def floor(db: Database, temporal_client, test_settings, gateway) -> AsyncIterator[Floor]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The API under uvicorn with the back office's stock worker (GoodsReceipt, Transfer,
    Count, ...) on a queue of its own (nothing else polls it)."""
    from api.app import create_app
    from tillflow.workers import backoffice_worker

    settings = test_settings.model_copy(update={"backoffice_task_queue": QUEUE})
    worker = backoffice_worker(temporal_client, db, task_queue=QUEUE, max_threads=4)
    server = Served(
        lambda: create_app(
            settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
        )
    )
    task = asyncio.create_task(worker.run())
    await server.start()
    async with httpx.AsyncClient(base_url=server.url) as http:
        yield Floor(server.url, http, await password_login(http, "mia", "manager-demo"))
    await server.stop()
    await worker.shutdown()
    await task


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _scan(page: Any, form: str, code: str, qty: int = 1) -> None:
    """Scan (type and Enter) a code into a form's line table, `qty` at once."""
    await page.fill(f"{form} [data-scan-qty]", str(qty))
    await page.focus(f"{form} [data-scan]")
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"document.querySelector('{form} [data-scan]').value === ''")


async def _cell(page: Any, selector: str) -> int:
    return int((await page.text_content(selector) or "").strip())


async def test_transfer_requested_picked_received(floor, page, sign_in, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"WH1": 6, "LIS": 2}, safety={"LIS": 1})
    code = barcode_of(db, sku)
    with db.unit_of_work() as s:  # two returned units waiting for inspection at LIS
        stock.apply_movements(
            s,
            location(s, "LIS"),
            [stock.Movement(sku, 2, "return", "test", f"test:{sku}:q", bucket="quarantine")],
            workflow_id=None,
            occurred_at=datetime.now(UTC),
        )

    # The stock look-up by barcode: every location with its numbers.
    await sign_in(page, floor.url + "/backoffice/stock", "mia", "manager-demo")
    await page.keyboard.type(code)  # the cursor starts in the look-up field
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"section[data-sku='{sku}']")
    lis = "tr[data-location='LIS']"
    assert await _cell(page, f"{lis} [data-col=on_hand]") == 2
    assert await _cell(page, f"{lis} [data-col=safety_stock]") == 1
    assert await _cell(page, f"{lis} [data-col=quarantined]") == 2
    assert await _cell(page, f"{lis} [data-col=available]") == 1
    assert await _cell(page, "tr[data-location='WH1'] [data-col=available]") == 6

    # Berlin asks the warehouse for 3: scan the barcode with a quantity, Ctrl+Enter sends.
    await page.goto(floor.url + "/backoffice/stores/BER/transfers")
    await page.wait_for_selector("#request-transfer")
    await page.select_option("#request-transfer [name=source]", "WH1")
    await _scan(page, "#request-transfer", code, 3)
    assert await page.input_value(f"#request-transfer tr[data-sku='{sku}'] input") == "3"
    await page.keyboard.press("Control+Enter")
    await page.wait_for_selector("#transfer-status[data-status=requested]")
    transfer_id = page.url.split("id=")[1]
    assert await page.locator("#pick-form").count() == 0, "Berlin does not pick"

    # The warehouse picks 2 of the 3.
    await page.goto(floor.url + f"/backoffice/stores/WH1/transfers?id={transfer_id}")
    await page.wait_for_selector("#pick-form")
    await page.fill(f"#pick-form tr[data-sku='{sku}'] input", "2")
    await page.click("#pick-form button[type=submit]")
    await page.wait_for_selector("#transfer-status[data-status=picked]")
    assert await _cell(page, f"tr[data-sku='{sku}'] [data-col=in_transit]") == 2

    # In transit shows at Berlin, not sellable; the warehouse has 2 fewer.
    await page.goto(floor.url + f"/backoffice/stock?sku={sku}")
    await page.wait_for_selector(f"section[data-sku='{sku}']")
    ber = "tr[data-location='BER']"
    assert await _cell(page, f"{ber} [data-col=in_transit]") == 2
    assert await _cell(page, f"{ber} [data-col=available]") == 0
    assert await _cell(page, "tr[data-location='WH1'] [data-col=on_hand]") == 4

    # Berlin receives one and says nothing more will come: the other is short.
    await page.goto(floor.url + f"/backoffice/stores/BER/transfers?id={transfer_id}")
    await page.wait_for_selector("#receive-form")
    await _scan(page, "#receive-form", code)
    await page.check("#receive-form [name=close]")
    await page.keyboard.press("Control+Enter")
    await page.wait_for_selector("#transfer-status[data-status=received]")
    assert await _cell(page, f"tr[data-sku='{sku}'] [data-col=received]") == 1
    assert await _cell(page, f"tr[data-sku='{sku}'] [data-col=short]") == 1
    assert level(db, "BER", sku).on_hand == 1


async def test_count_scanned_and_submitted(floor, page, sign_in, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    a, b = new_product(db, {"BER": 4}), new_product(db, {"BER": 1})
    page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await sign_in(page, floor.url + "/backoffice/stores/BER/count", "mia", "manager-demo")
    await _scan(page, "#start-count", barcode_of(db, a))
    await _scan(page, "#start-count", b)  # a SKU typed works as well
    await page.keyboard.press("Control+Enter")
    await page.wait_for_selector("#count-status[data-status=counting]")
    count_id = page.url.split("id=")[1]

    # Three of a on the shelf, scanned one by one; b typed as a number.
    for _ in range(3):
        await _scan(page, "#count-form", barcode_of(db, a))
    assert await page.input_value(f"#count-form tr[data-sku='{a}'] input") == "3"
    await page.fill(f"#count-form tr[data-sku='{b}'] input", "1")
    await page.keyboard.press("Control+Enter")
    await page.wait_for_function(
        "document.getElementById('message').textContent === 'Counts saved.'"
    )
    assert "3" in (await page.text_content(f"#count-form tr[data-sku='{a}']") or "")

    await page.click("#submit-count button[type=submit]")
    await page.wait_for_selector("#count-status[data-status=applied]")
    assert (await page.text_content(f"tr[data-sku='{a}'] [data-col=delta]") or "").strip() == "-1"
    assert level(db, "BER", a).on_hand == 3 and level(db, "BER", b).on_hand == 1
    r = await floor.http.get(f"/stock/counts/{count_id}", headers=floor.mia)
    assert r.json()["status"] == "applied"


async def test_goods_receipt_against_a_purchase_order(floor, page, sign_in, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    a, b = new_product(db, {}), new_product(db, {})
    supplier = f"SUP-{uuid.uuid4().hex[:6]}"
    http, mia = floor.http, floor.mia
    admin = await password_login(http, "admin", "admin-demo")  # suppliers are head-office data
    r = await http.post(
        "/purchasing/suppliers",
        json={"code": supplier, "name": "Acme Wholesale", "currency": "EUR"},
        headers={**admin, **_key()},
    )
    assert r.status_code == 201, r.text
    for sku in (a, b):
        r = await http.put(
            f"/purchasing/suppliers/{supplier}/items/{sku}",
            json={"unit_cost": 250, "preferred": True},
            headers={**admin, **_key()},
        )
        assert r.status_code == 200, r.text
    r = await http.post(
        "/purchasing/orders",
        json={
            "location": "BER",
            "supplier": supplier,
            "lines": [{"sku": a, "quantity": 4}, {"sku": b, "quantity": 2}],
        },
        headers={**mia, **_key()},
    )
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    sent = await http.post(f"/purchasing/orders/{number}/send", headers={**mia, **_key()})
    assert sent.status_code == 200, sent.text

    await sign_in(page, floor.url + "/backoffice/stores/BER/receive", "mia", "manager-demo")
    await page.click(f"tr[data-order='{number}'] a")
    await page.wait_for_selector(f"#receipt-form[data-order='{number}']")  # not the free one
    await _scan(page, "#receipt-form", barcode_of(db, a), 5)  # one more than ordered
    await _scan(page, "#receipt-form", barcode_of(db, b))  # one of two
    await page.fill("#receipt-form [name=delivery_note]", "DN-77")
    await page.keyboard.press("Control+Enter")
    await page.wait_for_selector("#receipt")
    assert await _cell(page, f"#receipt tr[data-sku='{a}'] [data-col=over]") == 1
    assert await _cell(page, f"#receipt tr[data-sku='{b}'] [data-col=quantity]") == 1
    assert "DN-77" in (await page.text_content("#receipt") or "")
    assert level(db, "BER", a).on_hand == 5 and level(db, "BER", b).on_hand == 1
    order = (await http.get(f"/purchasing/orders/{number}", headers=mia)).json()
    assert order["status"] == "partially_received"
