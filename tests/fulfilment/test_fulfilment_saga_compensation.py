"""Fulfilment sagas called off midway: the compensations run newest first, each an activity of its
own in the workflow's history, and the database shows what they undid."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced, on_hand
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    barcode_of,
    eventually,
    holds,
    new_product,
)
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import CancelledError

from workflows.bopis import BopisWorkflow
from workflows.online_order import OnlineOrderWorkflow
from workflows.ship_from_store import ShipFromStoreWorkflow


async def _cancel_and_wait(handle: Any) -> WorkflowHistory:
    """Cancel the fulfilment workflow, wait for it to close as cancelled; its history."""
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as closed:
        await asyncio.wait_for(handle.result(), timeout=30)
    assert isinstance(closed.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    return await handle.fetch_history()


def _after_cancel_request(history: WorkflowHistory) -> list[str]:
    """The activities scheduled after the cancellation was requested."""
    events = list(history.events)
    at = next(
        i
        for i, e in enumerate(events)
        if e.HasField("workflow_execution_cancel_requested_event_attributes")
    )
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events[at:]
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


async def test_cancelled_bopis_releases_the_pickup_then_cancels_its_tasks(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    """A pickup held for the customer and then cancelled runs release_pickup, then cancel_tasks."""
    sku = new_product(db, {"BER": 3})
    wf = await orders.place([(sku, 2)], pickup="BER")
    task = await orders.task("BER", wf, "pick", finn)
    picked = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": 2}]},
    )
    assert picked.status_code == 200 and picked.json()["phase"] == "ready", picked.text
    child = f"bopis:{wf}:BER"
    # Held for pickup: a pickup reservation and an open hand-over task.
    assert holds(db, "pickup", wf) == {("BER", sku): 2} and atp(db, "BER", sku) == 1
    assert [(t.kind, t.status) for t in orders.tasks(child)] == [
        ("pick", "done"),
        ("handover", "open"),
    ]

    bopis = fulfilment_env.client.get_workflow_handle_for(BopisWorkflow.run, child)
    history = await _cancel_and_wait(bopis)

    # History: the forward steps, then the compensations in reverse push order, once each.
    steps = activity_types(history)
    assert steps == [
        "fulfilment.setup",
        "fulfilment.open_task",
        "fulfilment.resolve_barcodes",
        "fulfilment.close_task",
        "fulfilment.pickup_deadline",
        "fulfilment.hold_for_pickup",
        "fulfilment.open_task",
        "notices.send",
        "fulfilment.release_pickup",
        "fulfilment.cancel_tasks",
    ], steps
    assert _after_cancel_request(history) == [
        "fulfilment.release_pickup",
        "fulfilment.cancel_tasks",
    ]

    # Database: the pickup hold is back on the shelf, the hand-over task is off the board.
    assert holds(db, "pickup", wf) == {}
    assert atp(db, "BER", sku) == 3 and on_hand(db, "BER", sku) == 3
    assert [(t.kind, t.status, t.outcome) for t in orders.tasks(child)] == [
        ("pick", "done", "picked"),
        ("handover", "cancelled", "cancelled"),
    ]
    # The parent order hears its pickup was cancelled and calls itself off; nothing stays held.
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "cancelled"
    assert holds(db, "order", wf) == {} and holds(db, "pickup", wf) == {}
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)


async def test_cancelled_ship_from_store_takes_its_pick_task_off_the_board(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env
) -> None:
    """A shipment cancelled with its pick task open runs cancel_tasks, and the task is cancelled."""
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)])
    task = await orders.task("BER", wf, "pick", finn)
    child = f"ship:{wf}:BER"
    assert [(t.kind, t.status) for t in orders.tasks(child)] == [("pick", "open")]
    assert holds(db, "order", wf) == {("BER", sku): 1}

    ship = fulfilment_env.client.get_workflow_handle_for(ShipFromStoreWorkflow.run, child)
    history = await _cancel_and_wait(ship)

    steps = activity_types(history)
    assert steps == ["fulfilment.setup", "fulfilment.open_task", "fulfilment.cancel_tasks"], steps
    assert _after_cancel_request(history) == ["fulfilment.cancel_tasks"]

    # Database: the pick task is cancelled and no longer on the store's list.
    assert [(t.id, t.status, t.outcome) for t in orders.tasks(child)] == [
        (task["id"], "cancelled", "cancelled")
    ]
    listed = await fapi.get("/fulfilment/BER/tasks", headers=finn)
    assert listed.status_code == 200 and task["id"] not in [t["id"] for t in listed.json()]
    # The parent calls the order off and gives its hold back.
    parent = fulfilment_env.client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
    assert (await asyncio.wait_for(parent.result(), 30)).status == "cancelled"
    await eventually(lambda: holds(db, "order", wf) == {})
    assert atp(db, "BER", sku) == 2 and on_hand(db, "BER", sku) == 2
    assert_reservations_balanced(db)
