"""WooCommerce webhooks: the unsigned ping, signatures, dedupe on order id + date_modified,
cancellation."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from helpers.webstore import (
    SECRET,
    assert_reservations_balanced,
    atp,
    connect,
    disconnect,
    eventually,
    holds,
    new_product,
    post_woo,
    woo_order,
)
from sqlalchemy import func, select

from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from db.models_payments import WebhookEvent
from integrations.webstore_signatures import sign
from tests.helpers.history import is_running
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


def stored(db, store: str) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(
                    WebhookEvent.provider == "woocommerce", WebhookEvent.event_id.like(f"{store}:%")
                )
            )
            or 0
        )


@pytest.fixture
def woo(db, fake_woo):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(
        db,
        "woocommerce",
        base_url=fake_woo.url,
        consumer_key=fake_woo.key,
        consumer_secret=fake_woo.secret,
    )
    yield store
    disconnect(db, store.code)


async def test_the_creation_ping_is_answered_and_nothing_is_stored(api, db, woo) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    r = await api.post(
        f"/webhooks/woocommerce/{woo.code}",
        content=b"webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.json()["ping"] is True
    assert stored(db, woo.code) == 0
    # Anything else unsigned is refused, and so is a bad signature.
    unsigned = await api.post(
        f"/webhooks/woocommerce/{woo.code}",
        content=b'{"id": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert unsigned.status_code == 401
    body = json.dumps(woo_order(1, [("X", 1, "1.00")])).encode()
    bad = await api.post(
        f"/webhooks/woocommerce/{woo.code}",
        content=body,
        headers={
            "X-WC-Webhook-Signature": sign(body, "wrong"),
            "X-WC-Webhook-Topic": "order.created",
        },
    )
    assert bad.status_code == 401 and stored(db, woo.code) == 0
    assert (
        await api.post("/webhooks/woocommerce/nope", content=b"webhook_id=1")
    ).status_code == 404


async def test_order_then_redelivery_then_cancellation_refunds(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, woo, fake_woo, temporal_client
) -> None:
    sku = new_product(db, {"LIS": 2, "WH1": 2})
    order_id = int(uuid.uuid4().int % 10**7)
    fake_woo.add_order(
        order_id, [{"id": order_id * 10 + 1, "sku": sku, "quantity": 2}], total="30.00"
    )
    created = woo_order(order_id, [(sku, 2, "30.00")], modified="2026-11-22T10:00:00")
    first = await post_woo(api, woo.code, created)
    assert first.status_code == 200 and first.json()["status"] == "queued", first.text
    # WooCommerce retries with a new delivery id: the same order and modification time is a
    # duplicate.
    retry = await post_woo(api, woo.code, created, delivery="another-delivery-id")
    assert retry.json()["duplicate"] is True and stored(db, woo.code) == 1
    wf = online_order_workflow_id("woocommerce", str(order_id), woo.code)
    await eventually(lambda: sum(holds(db, "order", wf).values()) == 2)
    # The customer cancels in WooCommerce: order.updated with status cancelled.
    cancelled = woo_order(
        order_id, [(sku, 2, "30.00")], status="cancelled", modified="2026-11-22T10:05:00"
    )
    assert (await post_woo(api, woo.code, cancelled, topic="order.updated")).json()[
        "status"
    ] == "queued"
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "cancelled"
    assert holds(db, "order", wf) == {} and atp(db, "LIS", sku) + atp(db, "WH1", sku) == 4
    (refund,) = fake_woo.orders[order_id]["_refunds"]
    assert (
        refund["amount"] == "30.00"
        and {"key": "tillflow_key", "value": f"{wf}:cancel"} in refund["meta_data"]
    )
    assert stored(db, woo.code) == 2
    assert_reservations_balanced(db)


async def test_unknown_sku_and_pickup_in_store(api, db, woo, manager, temporal_client) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    ghost = f"WOO-GHOST-{uuid.uuid4().hex[:6]}"
    order_id = int(uuid.uuid4().int % 10**7)
    await post_woo(api, woo.code, woo_order(order_id, [(ghost, 1, "9.00")]))
    wf = online_order_workflow_id("woocommerce", str(order_id), woo.code)

    async def entries():  # type: ignore[no-untyped-def]  # returns the JSON answer
        return (
            await api.get("/webstores/exceptions", params={"order": wf}, headers=manager)
        ).json()

    (entry,) = await eventually(entries)
    assert entry["kind"] == "unknown_sku" and entry["sku"] == ghost and entry["store"] == woo.code
    # Pickup in store: the order goes to the chosen store, as a Bopis child.
    sku = new_product(db, {"BER": 5, "LIS": 1})
    pickup_id = int(uuid.uuid4().int % 10**7)
    await post_woo(api, woo.code, woo_order(pickup_id, [(sku, 1, "12.00")], pickup="LIS"))
    pickup_wf = online_order_workflow_id("woocommerce", str(pickup_id), woo.code)
    await eventually(lambda: holds(db, "order", pickup_wf) == {("LIS", sku): 1})
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, pickup_wf)
    await eventually(lambda: is_running(temporal_client, f"bopis:{pickup_wf}:LIS"))
    await temporal_client.get_workflow_handle(f"bopis:{pickup_wf}:LIS").signal(
        "finish", FulfilmentResult(status="picked_up")
    )
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert SECRET
