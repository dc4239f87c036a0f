"""Cart reservations expire by a durable timer, extended on every change (time-skipping Temporal
test server)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    connect,
    disconnect,
    holds,
    new_product,
)
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.carts import CartActivities
from contracts.cart import CartLineChange, CartRequest
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.cart import CartWorkflow

QUEUE = "carts-time-skipping"


@pytest.fixture(scope="module")
async def skipping(db) -> AsyncIterator[WorkflowEnvironment]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    acts = CartActivities(db)
    worker = Worker(
        env.client,
        task_queue=QUEUE,
        workflows=[CartWorkflow],
        activities=[acts.open, acts.set_line, acts.close, acts.view],
        activity_executor=ThreadPoolExecutor(4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield env
    await env.shutdown()


@pytest.fixture
def store(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    found = connect(db, "web")
    yield found
    disconnect(db, found.code)


async def test_cart_is_released_fifteen_minutes_after_its_last_change(skipping, db, store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"BER": 3})
    cart_id = uuid.uuid4().hex
    handle = await skipping.client.start_workflow(
        CartWorkflow.run,
        CartRequest(
            cart_id=cart_id,
            store_code=store.code,
            store_id=store.id,
            location_ids=(),
            pickup_location_id=None,
            ttl_s=15 * 60,
        ),
        id=f"cart:{cart_id}",
        task_queue=QUEUE,
    )
    state = await handle.execute_update(CartWorkflow.change, CartLineChange(sku=sku, quantity=2))
    assert [(ln.sku, ln.quantity, ln.location_code) for ln in state.lines] == [(sku, 2, "BER")]
    assert atp(db, "BER", sku) == 1
    await skipping.sleep(timedelta(minutes=10))
    await handle.execute_update(
        CartWorkflow.change, CartLineChange(sku=sku, quantity=1)
    )  # activity: 15 more minutes
    await skipping.sleep(timedelta(minutes=10))  # 20 min after the first change: still held
    assert holds(db, "cart", cart_id) == {("BER", sku): 3} and atp(db, "BER", sku) == 0
    await skipping.sleep(timedelta(minutes=6))  # 16 min after the last change
    result = await handle.result()
    assert result.status == "expired" and result.lines == ()
    assert holds(db, "cart", cart_id) == {} and atp(db, "BER", sku) == 3
    with pytest.raises(RPCError):  # the cart's workflow has ended
        await handle.execute_update(CartWorkflow.change, CartLineChange(sku=sku, quantity=1))
    assert_reservations_balanced(db)


async def test_checked_out_cart_keeps_nothing_and_takes_no_changes(skipping, db, store) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    sku = new_product(db, {"WH1": 2})
    cart_id = uuid.uuid4().hex
    handle = await skipping.client.start_workflow(
        CartWorkflow.run,
        CartRequest(
            cart_id=cart_id,
            store_code=store.code,
            store_id=store.id,
            location_ids=(),
            pickup_location_id=None,
            ttl_s=15 * 60,
        ),
        id=f"cart:{cart_id}",
        task_queue=QUEUE,
    )
    await handle.execute_update(CartWorkflow.change, CartLineChange(sku=sku, quantity=2))
    frozen = await handle.execute_update(CartWorkflow.checkout)
    assert frozen.status == "checked_out"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(CartWorkflow.change, CartLineChange(sku=sku, quantity=1))
    assert "checked out" in str(refused.value.cause)
    # No order took the holds over (say the storefront never came back): released one TTL later.
    await skipping.sleep(timedelta(minutes=16))
    assert (await handle.result()).status == "checked_out"
    assert holds(db, "cart", cart_id) == {} and atp(db, "WH1", sku) == 2
