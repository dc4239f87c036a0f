"""Ship-to-store: a pickup its store cannot fill is sent there by a Transfer, held for the order as
it arrives, then handed over; cancelled with the order while it is not picked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from helpers.history import is_running
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
from sqlalchemy import select
from temporalio.client import Client, WorkflowFailureError

from contracts.common import CENTRAL_TASK_QUEUE
from contracts.fulfilment import FulfilmentResult
from contracts.online import online_order_workflow_id
from contracts.transfer import PickIn, ReceiveIn, TransferLineIn, pick_transfer, receive_transfer
from db.models_transfers import Transfer
from db.session import Database
from tillflow.workers import backoffice_worker
from workflows.online_order import OnlineOrderWorkflow

pytestmark = pytest.mark.usefixtures("web_worker")


@pytest.fixture(scope="module")
async def transfers_worker(db: Database, temporal_client: Client) -> AsyncIterator[None]:
    """The back office's Transfer workflow where the web worker starts ship-to-store transfers."""
    worker = backoffice_worker(temporal_client, db, task_queue=CENTRAL_TASK_QUEUE, max_threads=4)
    task = asyncio.create_task(worker.run())
    yield
    await worker.shutdown()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
def shop(db, fake_shopify):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "shopify", base_url=fake_shopify.url, access_token=fake_shopify.token)
    yield store
    disconnect(db, store.code)


async def _pickup_order(api, shop, fake_shopify, sku: str, quantity: int) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    order_id = int(uuid.uuid4().int % 10**9)
    fake_shopify.add_order(
        order_id, [{"id": order_id * 10 + 1, "sku": sku, "quantity": quantity}], total="30.00"
    )
    body = shopify_order(order_id, [(sku, quantity, "10.00")], pickup="LIS")
    r = await post_shopify(api, shop.code, body)
    assert r.status_code == 200, r.text
    return online_order_workflow_id("shopify", str(order_id), shop.code)


def _transfer_of(db: Database, order_wf: str) -> Transfer | None:
    with db.unit_of_work() as s:
        found = s.scalar(select(Transfer).where(Transfer.order_workflow_id == order_wf))
        if found is not None:
            s.expunge(found)
        return found


@pytest.mark.usefixtures("transfers_worker")
async def test_a_short_pickup_comes_by_transfer_and_is_handed_over(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"LIS": 1, "WH1": 5, "BER": 1})
    wf = await _pickup_order(api, shop, fake_shopify, sku, 3)
    # Lisbon holds its one unit; the warehouse (it has all the rest) sends two.
    transfer = await eventually(lambda: _transfer_of(db, wf))
    assert transfer.code.startswith("STS-")
    await eventually(
        lambda: holds(db, "transfer", f"transfer:{transfer.code}") == {("WH1", sku): 2}
    )
    assert holds(db, "order", wf) == {("LIS", sku): 1}
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    state = await handle.query(OnlineOrderWorkflow.status)
    assert state.status == "fulfilling" and "by transfer" in state.message
    assert not await is_running(temporal_client, f"bopis:{wf}:LIS")  # nothing to hand over yet
    # The warehouse picks both; Lisbon receives them: they are the order's at once.
    line = (TransferLineIn(sku=sku, quantity=2),)
    await pick_transfer(temporal_client, transfer.code, PickIn(lines=line, picked_by=None), "")
    assert level(db, "LIS", sku).on_hand == 1  # in transit, not on the shelf
    await receive_transfer(
        temporal_client,
        transfer.code,
        ReceiveIn(lines=line, received_by=None, close=True),
        "",
    )
    await eventually(lambda: is_running(temporal_client, f"bopis:{wf}:LIS"))
    assert holds(db, "order", wf) == {("LIS", sku): 3}
    assert level(db, "WH1", sku).on_hand == 3 and level(db, "LIS", sku).on_hand == 3
    await temporal_client.get_workflow_handle(f"bopis:{wf}:LIS").signal(
        "finish", FulfilmentResult(status="picked_up")
    )
    assert (await asyncio.wait_for(handle.result(), 30)).status == "completed"
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


@pytest.mark.usefixtures("transfers_worker")
async def test_cancelling_the_order_cancels_its_unpicked_transfer(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, temporal_client
) -> None:
    sku = new_product(db, {"LIS": 0, "WH1": 4})
    wf = await _pickup_order(api, shop, fake_shopify, sku, 2)
    transfer = await eventually(lambda: _transfer_of(db, wf))
    await eventually(
        lambda: holds(db, "transfer", f"transfer:{transfer.code}") == {("WH1", sku): 2}
    )
    handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(handle.result(), 30)
    await eventually(lambda: (_transfer_of(db, wf) or transfer).status == "cancelled")
    assert holds(db, "transfer", f"transfer:{transfer.code}") == {}
    assert holds(db, "order", wf) == {}
    assert level(db, "WH1", sku).reserved == 0 and level(db, "WH1", sku).on_hand == 4
    assert_reservations_balanced(db)


async def test_without_a_source_the_pickup_waits_as_before(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, shop, fake_shopify, manager
) -> None:
    """No single other location has the rest: no transfer, the order waits for a person."""
    sku = new_product(db, {"LIS": 1, "WH1": 1, "BER": 1})
    wf = await _pickup_order(api, shop, fake_shopify, sku, 3)

    async def exception_raised() -> bool:
        r = await api.get("/webstores/exceptions", params={"order": wf}, headers=manager)
        return any(e["kind"] == "no_stock" for e in r.json())

    await eventually(exception_raised)
    assert _transfer_of(db, wf) is None and holds(db, "order", wf) == {}
