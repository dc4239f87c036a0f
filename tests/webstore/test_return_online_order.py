"""Bought on Shopify, returned in a store: the cashier finds the customer by the web order's email,
the refund goes back through Shopify and the unit is restocked."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    connect,
    disconnect,
    eventually,
    level,
    new_product,
    post_shopify,
    shopify_order,
)
from sqlalchemy import select

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from db.models import Order
from tests.helpers.history import is_running
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "shopify", base_url=fake_shopify.url, access_token=fake_shopify.token)
    yield store
    disconnect(db, store.code)


async def test_buy_online_return_in_store_refunds_through_shopify(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, cashier, temporal_client
) -> None:
    sku = new_product(db, {"BER": 2})
    order_id = int(uuid.uuid4().int % 10**9)
    fake_shopify.add_order(
        order_id, [{"id": order_id * 10 + 1, "sku": sku, "quantity": 1}], total="10.00"
    )
    payload = shopify_order(order_id, [(sku, 1, "10.00")])
    email = f"kim-{uuid.uuid4().hex[:8]}@example.test"
    payload["email"] = email
    r = await post_shopify(api, shop.code, payload)
    assert r.status_code == 200, r.text
    wf = online_order_workflow_id("shopify", str(order_id), shop.code)

    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:BER"))
    await temporal_client.get_workflow_handle(f"ship:{wf}:BER").signal(
        "finish", FulfilmentResult(status="shipped", tracking_number="TRK9")
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    with db.unit_of_work() as s:
        number = s.scalar(select(Order.number).where(Order.workflow_id == wf))
    after_shipping = level(db, "BER", sku).on_hand

    # In the store, the cashier finds the customer by the email of the web order, and the order
    # on their profile: one customer across channels.
    people = await api.get("/tills/BER1/customers", params={"q": email}, headers=cashier)
    assert people.status_code == 200 and len(people.json()) == 1, people.text
    profile = await api.get(f"/customers/{people.json()[0]['customer_id']}", headers=cashier)
    assert number in [o["number"] for o in profile.json()["orders"]], profile.text

    found = await api.get("/tills/BER1/returns/lookup", params={"receipt": number}, headers=cashier)
    assert found.status_code == 200 and found.json()[0]["channel"] == "shopify"
    back = await api.post(
        "/tills/BER1/returns",
        headers=cashier,
        json={
            "return_id": uuid.uuid4().hex[:10],
            "sale_id": number,
            "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}],
        },
    )
    assert back.status_code == 200, back.text
    assert back.json()["refunds"] == [{"kind": "shopify", "amount": 1000}]
    refunds = fake_shopify.orders[order_id]["_refunds"]
    assert len(refunds) == 1 and float(refunds[0]["transactions"][0]["amount"]) == 10.00
    assert fake_shopify.orders[order_id]["financial_status"] == "refunded"
    assert level(db, "BER", sku).on_hand == after_shipping + 1
    assert_ledger_balanced(db)
