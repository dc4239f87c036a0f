"""Bought on Magento, returned in a store: the till finds the web order by its number, the refund
goes back to Magento as a credit memo for the returned amount, once, and the unit is restocked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.web_queue import web_queue_worker
from helpers.webstore import eventually, level, new_product
from sqlalchemy import select

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from db.models import Order
from tests.helpers.history import is_running
from tests.magento.test_magento_orders import pull
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("magento_worker", "refund_worker")


@pytest.fixture(scope="module")
async def refund_worker(db, temporal_client, gateway, test_settings) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The web queue the till's Return refunds a web order through (`webstore.refund`)."""
    async with web_queue_worker(temporal_client, db, gateway, test_settings):
        yield


async def test_buy_on_magento_return_in_store_posts_a_credit_memo(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, mag, fake_magento, cashier, temporal_client, magento_worker
) -> None:
    sku, other = new_product(db, {"BER": 3}), new_product(db, {"BER": 3})
    order = fake_magento.add_order([(sku, 1, "20.00", "0"), (other, 1, "12.50", "0")])
    await pull(temporal_client, magento_worker, mag.code)
    wf = online_order_workflow_id("magento", str(order["entity_id"]), mag.code)
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:BER"))
    await temporal_client.get_workflow_handle(f"ship:{wf}:BER").signal(
        "finish", FulfilmentResult(status="shipped", tracking_number="TRK-MAG-1", carrier="DHL")
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    with db.unit_of_work() as s:
        number = s.scalar(select(Order.number).where(Order.workflow_id == wf))
    assert number is not None
    after_shipping = level(db, "BER", sku).on_hand

    found = await api.get("/tills/BER1/returns/lookup", params={"receipt": number}, headers=cashier)
    assert found.status_code == 200, found.text
    assert found.json()[0]["channel"] == "magento"
    line_no = next(ln["line_no"] for ln in found.json()[0]["lines"] if ln["sku"] == sku)
    return_id = uuid.uuid4().hex[:10]
    body = {
        "return_id": return_id,
        "sale_id": number,
        "lines": [{"line_no": line_no, "quantity": 1, "disposition": "restock"}],
    }
    back = await api.post("/tills/BER1/returns", headers=cashier, json=body)
    assert back.status_code == 200, back.text
    assert back.json()["refunds"] == [{"kind": "magento", "amount": 2000}]
    (memo,) = fake_magento.creditmemos
    assert memo["order_id"] == order["entity_id"] and memo["grand_total"] == 20.0
    # An in-store return refunds the amount the till worked out (an adjustment refund in Magento),
    # marked with the return's key, so Magento's order shows who refunded what and why.
    assert f"tillflow:return:{return_id}" in memo["comments"][0]["comment"]
    assert "BER1" in memo["comments"][0]["comment"]
    assert fake_magento.orders[order["entity_id"]]["total_refunded"] == 20.0
    assert level(db, "BER", sku).on_hand == after_shipping + 1
    # The till retries (its answer was lost): the same return, no second credit memo.
    again = await api.post("/tills/BER1/returns", headers=cashier, json=body)
    assert again.status_code == 200 and again.json()["refunds"] == back.json()["refunds"]
    assert len(fake_magento.creditmemos) == 1
    assert_ledger_balanced(db)
