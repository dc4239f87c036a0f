"""The OnlineOrder saga with its fulfilment children: re-sourcing after a till sale, a store that
rejects, a pickup nobody collects."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    assert_reservations_balanced,
    connect,
    disconnect,
    eventually,
    holds,
    level,
    new_product,
    post_shopify,
    shopify_order,
)

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from tests.helpers.history import is_running
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "shopify", base_url=fake_shopify.url, access_token=fake_shopify.token)
    yield store
    disconnect(db, store.code)


async def place(api, db, shop, fake_shopify, lines, **kw):  # type: ignore[no-untyped-def]  # takes untyped fixture values
    order_id = int(uuid.uuid4().int % 10**9)
    fake_shopify.add_order(
        order_id,
        [
            {"id": order_id * 10 + n, "sku": s, "quantity": q}
            for n, (s, q, _) in enumerate(lines, start=1)
        ],
        total=f"{sum(float(p) * q for _, q, p in lines):.2f}",
    )
    r = await post_shopify(api, shop.code, shopify_order(order_id, lines, **kw))
    assert r.status_code == 200, r.text
    return order_id, online_order_workflow_id("shopify", str(order_id), shop.code)


async def test_till_sale_of_a_held_unit_warns_and_the_order_resources(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, cashier, temporal_client
) -> None:
    sku = new_product(db, {"BER": 1, "WH1": 2}, price=1500)
    _, wf = await place(api, db, shop, fake_shopify, [(sku, 1, "15.00")])
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:BER"))
    assert holds(db, "order", wf) == {("BER", sku): 1}
    # The customer in the Berlin store has the last unit in hand: the till sells it, and says so.
    sale = await api.post(
        "/tills/BER1/sales",
        headers=cashier,
        json={
            "client_sale_id": uuid.uuid4().hex[:12],
            "lines": [{"sku": sku, "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 1500}],
        },
    )
    assert sale.status_code == 200 and sale.json()["status"] == "completed", sale.text
    assert any("held for an online order" in w for w in sale.json()["warnings"])
    # The order moved its hold to the warehouse; Berlin's child gave the line up, the warehouse's
    # took it.
    await eventually(lambda: holds(db, "order", wf) == {("WH1", sku): 1})
    assert level(db, "BER", sku).reserved == 0 and level(db, "BER", sku).on_hand == 0
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:WH1"))
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await handle.query(OnlineOrderWorkflow.status)).children == ("BER", "WH1")
    await temporal_client.get_workflow_handle(f"ship:{wf}:WH1").signal(
        "finish", FulfilmentResult(status="shipped", tracking_number="TRK1")
    )
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert level(db, "WH1", sku).on_hand == 1 and level(db, "WH1", sku).reserved == 0
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_a_store_that_rejects_is_routed_around(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"BER": 2, "WH1": 2})
    order_id, wf = await place(api, db, shop, fake_shopify, [(sku, 2, "5.00")])
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:BER"))
    await temporal_client.get_workflow_handle(f"ship:{wf}:BER").signal(
        "finish", FulfilmentResult(status="rejected", message="both units damaged")
    )
    await eventually(lambda: holds(db, "order", wf) == {("WH1", sku): 2})
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:WH1"))
    await temporal_client.get_workflow_handle(f"ship:{wf}:WH1").signal(
        "finish",
        FulfilmentResult(status="shipped", tracking_number="00340434161094042557", carrier="DHL"),
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert level(db, "BER", sku).available == 2 and level(db, "WH1", sku).on_hand == 0
    # Shopify heard it shipped, with tracking.
    (fulfilment,) = fake_shopify.orders[order_id]["_fulfillments"]
    assert fulfilment["tracking_number"] == "00340434161094042557"


async def test_uncollected_pickup_is_cancelled_released_refunded_and_shopify_told(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"LIS": 1})
    order_id, wf = await place(api, db, shop, fake_shopify, [(sku, 1, "20.00")], pickup="LIS")
    await eventually(lambda: is_running(temporal_client, f"bopis:{wf}:LIS"))
    assert holds(db, "order", wf) == {("LIS", sku): 1}
    await temporal_client.get_workflow_handle(f"bopis:{wf}:LIS").signal(
        "finish", FulfilmentResult(status="expired", message="not collected within 7 days")
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    result = await asyncio.wait_for(handle.result(), 30)
    assert result.status == "cancelled" and "not collected" in result.message
    assert holds(db, "order", wf) == {} and level(db, "LIS", sku).available == 1
    order = fake_shopify.orders[order_id]
    assert order["cancelled_at"] and order["financial_status"] == "refunded"


async def test_web_store_cancels_while_a_store_is_picking(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"WH1": 3})
    order_id, wf = await place(api, db, shop, fake_shopify, [(sku, 3, "2.00")])
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:WH1"))
    lines = [(sku, 3, "2.00")]
    await post_shopify(
        api,
        shop.code,
        shopify_order(order_id, lines, cancelled=True, financial_status="refunded"),
        topic="orders/cancelled",
        triggered_at="2026-11-22T12:00:00Z",
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "cancelled"
    child = await temporal_client.get_workflow_handle(f"ship:{wf}:WH1").describe()
    assert child.status.name == "CANCELED"
    assert level(db, "WH1", sku).available == 3
    # Shopify refunded it already (financial_status "refunded"): tillflow does not refund twice.
    assert fake_shopify.orders[order_id]["_refunds"] == []
    assert_reservations_balanced(db)
