"""Magento orders: pulled by updated_at, stored once (increment_id + updated_at), placed through
OnlineOrder; shipped back with tracking; cancelled in Magento -> credit memo, stock released."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from helpers.webstore import assert_reservations_balanced, atp, eventually, holds, new_product
from sqlalchemy import func, select

from contracts.fulfilment import FulfilmentResult
from contracts.magento import PullRequest, PullResult, start_magento_pull
from contracts.online import online_order_workflow_id
from db.models_payments import WebhookEvent
from db.repositories import online_orders
from tests.helpers.history import is_running
from workflows.magento_pull import MagentoPullWorkflow
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("magento_worker")


async def pull(temporal_client, queue: str, store: str) -> PullResult:  # type: ignore[no-untyped-def]  # a Temporal client
    return await temporal_client.execute_workflow(
        MagentoPullWorkflow.run,
        PullRequest(stores=(store,)),
        id=f"magento-pull-test-{uuid.uuid4().hex}",
        task_queue=queue,
    )


def stored(db, store: str) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.provider == "magento", WebhookEvent.event_id.like(f"{store}:%"))
            )
            or 0
        )


def order_status(db, wf: str) -> str | None:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    with db.unit_of_work() as s:
        found = online_orders.summary(s, wf)
    return found.status if found else None


async def test_pulled_once_then_cancelled_in_magento_refunds_by_credit_memo(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, mag, fake_magento, temporal_client, magento_worker
) -> None:
    sku = new_product(db, {"BER": 2, "WH1": 2})
    order = fake_magento.add_order([(sku, 2, "15.00", "0")])
    first = await pull(temporal_client, magento_worker, mag.code)
    assert first.errors == () and first.stores[0].new == 1, first
    wf = online_order_workflow_id("magento", str(order["entity_id"]), mag.code)
    await eventually(lambda: sum(holds(db, "order", wf).values()) == 2)
    # The next round asks from the last updated_at it stored: the same state is a duplicate.
    again = await pull(temporal_client, magento_worker, mag.code)
    assert again.stores[0].seen == 1 and again.stores[0].new == 0
    assert again.stores[0].cursor == order["updated_at"] and stored(db, mag.code) == 1
    # The merchant cancels it in the Magento admin: a new updated_at, a new state.
    fake_magento.change(order["entity_id"], state="canceled", status="canceled")
    assert (await pull(temporal_client, magento_worker, mag.code)).stores[0].new == 1
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(handle.result(), 30)).status == "cancelled"
    assert holds(db, "order", wf) == {} and atp(db, "BER", sku) + atp(db, "WH1", sku) == 4
    (memo,) = fake_magento.creditmemos
    assert memo["grand_total"] == 30.0 and memo["order_id"] == order["entity_id"]
    assert f"tillflow:{wf}:cancel" in memo["comments"][0]["comment"]
    assert_reservations_balanced(db)


async def test_shipped_order_posts_a_shipment_with_tracking(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, mag, fake_magento, temporal_client, magento_worker
) -> None:
    sku = new_product(db, {"BER": 3})
    order = fake_magento.add_order([(sku, 1, "20.00", "5.00")])
    await pull(temporal_client, magento_worker, mag.code)
    wf = online_order_workflow_id("magento", str(order["entity_id"]), mag.code)
    await eventually(lambda: order_status(db, wf) == "fulfilling")
    with db.unit_of_work() as s:
        summary = online_orders.summary(s, wf)
    assert summary is not None and summary.number.startswith("MAG")
    await eventually(lambda: is_running(temporal_client, f"ship:{wf}:BER"))
    await temporal_client.get_workflow_handle(f"ship:{wf}:BER").signal(
        "finish",
        FulfilmentResult(status="shipped", tracking_number="00340434161094042557", carrier="DHL"),
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    await asyncio.wait_for(handle.result(), 30)
    await eventually(lambda: fake_magento.shipments)
    (shipment,) = fake_magento.shipments
    assert shipment["order_id"] == order["entity_id"]
    assert shipment["tracks"][0]["track_number"] == "00340434161094042557"
    assert fake_magento.orders[order["entity_id"]]["state"] == "complete"
    # The shipment made a new updated_at: pulled, it is heard by a closed order, nothing breaks.
    assert (await pull(temporal_client, magento_worker, mag.code)).errors == ()


async def test_a_store_that_refuses_the_token_is_reported_and_nothing_stored(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, mag, fake_magento, temporal_client, magento_worker
) -> None:
    fake_magento.add_order([("ANY", 1, "1.00", "0")])
    fake_magento.token = "rotated-elsewhere"
    result = await pull(temporal_client, magento_worker, mag.code)
    assert result.stores == () and "isn't authorized" in result.errors[0]
    assert stored(db, mag.code) == 0


async def test_the_schedule_pulls_every_active_magento_store(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, mag, fake_magento, temporal_client, magento_worker
) -> None:
    schedule_id = f"magento-pull-test-{uuid.uuid4().hex[:8]}"
    queue = magento_worker
    await start_magento_pull(
        temporal_client, every=timedelta(hours=1), task_queue=queue, schedule_id=schedule_id
    )
    handle = temporal_client.get_schedule_handle(schedule_id)
    try:
        # Started again at the next worker start: the spec is updated, not duplicated.
        await start_magento_pull(
            temporal_client, every=timedelta(minutes=1), task_queue=queue, schedule_id=schedule_id
        )
        described = await handle.describe()
        assert described.schedule.spec.intervals[0].every == timedelta(minutes=1)
        sku = new_product(db, {"WH1": 2})
        order = fake_magento.add_order([(sku, 1, "7.00", "0")])
        await handle.trigger()
        wf = online_order_workflow_id("magento", str(order["entity_id"]), mag.code)
        await eventually(lambda: sum(holds(db, "order", wf).values()) == 1)
    finally:
        await handle.delete()
