"""The web-store sagas undo themselves in reverse, each compensation an activity in the history.

An OnlineOrder from our storefront fails for good after its stock was held and its card authorized
(the stock ledger refuses the consume): the card is voided, then the holds released. A Cart that is
cancelled while it holds stock closes itself, and the stock goes back."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.fulfilment_stub import StubBopis, StubShipFromStore
from helpers.history import activity_types
from helpers.stock import assert_ledger_balanced
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    connect,
    disconnect,
    eventually,
    holds,
    level,
    new_product,
)
from sqlalchemy import select
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Worker

from contracts.cart import CartLineChange, CartRequest, cart_workflow_id, open_cart, steer_cart
from contracts.fulfilment import FulfilmentResult
from contracts.online import (
    CheckoutAnswer,
    ConsumeRequest,
    OnlineOrderRequest,
    checkout_order,
    online_order_workflow_id,
)
from db.models import Payment, StockMovement
from db.repositories import online_orders
from domain.online_orders import ExternalLine, ExternalOrder
from tests.helpers.history import is_running
from tillflow.adapters import storefront_factory
from tillflow.workers import sandbox_runner, webstore_activities
from workflows.cart import CartWorkflow
from workflows.online_order import OnlineOrderWorkflow
from workflows.stock_sync import StockResyncWorkflow, StockSyncWorkflow


@activity.defn(name="online.consume")
def broken_consume(req: ConsumeRequest) -> int:
    raise ApplicationError("stock ledger rejected the write", type="LedgerDown", non_retryable=True)


@pytest.fixture
def web(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(db, "web")
    yield store
    disconnect(db, store.code)


async def test_storefront_order_failing_after_hold_and_authorization_voids_then_releases(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway, web_settings, web
) -> None:
    """A web order failing after reserve + authorize runs tender.void_all, then online.release."""
    queue = f"web-broken-{uuid.uuid4().hex[:6]}"
    children_queue = f"{queue}-children"
    acts = [
        a
        for a in webstore_activities(
            db, gateway, storefront_factory(db, web_settings), children_queue
        )
        if getattr(a, "__name__", "") != "consume"
    ]
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[OnlineOrderWorkflow, CartWorkflow, StockSyncWorkflow, StockResyncWorkflow],
        activities=[*acts, broken_consume],
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=sandbox_runner(),
    )
    children = Worker(
        temporal_client,
        task_queue=children_queue,
        workflows=[StubShipFromStore, StubBopis],
        workflow_runner=sandbox_runner(),
    )
    sku = new_product(db, {"WH1": 3}, price=2490)
    cart_id = uuid.uuid4().hex
    wf = online_order_workflow_id("web", cart_id)
    async with worker, children:
        answer = await _place_web_order(temporal_client, db, gateway, web, queue, sku, cart_id)
        # The warehouse ships; consuming its holds then fails for good.
        await eventually(lambda: is_running(temporal_client, f"ship:{wf}:WH1"))
        await temporal_client.get_workflow_handle(f"ship:{wf}:WH1").signal(
            "finish", FulfilmentResult(status="shipped", tracking_number="1Z999", carrier="UPS")
        )
        handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), timeout=20)
        assert "stock ledger rejected the write" in str(failed.value.cause)
        status = await handle.query(OnlineOrderWorkflow.status)
        history = await handle.fetch_history()
        # The checked-out cart waits out its TTL for leftovers: end it now (it holds nothing).
        cart_handle = temporal_client.get_workflow_handle(cart_workflow_id(web.code, cart_id))
        await cart_handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(cart_handle.result(), timeout=20)

    # Database: the holds released, the stock untouched, the card's authorization cancelled.
    assert holds(db, "order", wf) == {} and holds(db, "cart", cart_id) == {}
    assert level(db, "WH1", sku).on_hand == 3 and level(db, "WH1", sku).reserved == 0
    assert atp(db, "WH1", sku) == 3
    with db.unit_of_work() as s:
        assert s.scalars(select(StockMovement).where(StockMovement.workflow_id == wf)).all() == []
        pays = s.scalars(select(Payment).where(Payment.workflow_id == wf)).all()
        assert [(p.status, p.provider_ref) for p in pays] == [("voided", answer.payment_intent)]
        summary = online_orders.summary(s, wf)
        assert summary is not None and summary.status == "failed"
    assert gateway.retrieve_intent(answer.payment_intent).status == "canceled"
    assert_ledger_balanced(db)
    assert_reservations_balanced(db)

    # History: the forward steps, then the compensations newest first (void_all pushed after
    # release), each an activity of its own; then the order records that it failed.
    assert activity_types(history) == [
        "online.accept",
        "online.route",
        "online.reserve",
        "online.authorize",
        "online.set_status",  # accepted
        "online.set_status",  # fulfilling
        "online.consume",
        "tender.void_all",
        "online.release",
        "online.set_status",  # failed
    ]
    assert status.compensating and status.status == "failed"


async def _place_web_order(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal_client, db, gateway, web, queue: str, sku: str, cart_id: str
) -> CheckoutAnswer:
    """A storefront order of 2 units, its stock held and its card authorized."""
    wf = online_order_workflow_id("web", cart_id)
    # The storefront's path (api/routes/storefront.py): a cart holds the units, its checkout
    # starts the order, which takes the holds over and authorizes the card.
    cart = CartRequest(
        cart_id=cart_id, store_code=web.code, store_id=web.id, location_ids=web.location_ids
    )
    await open_cart(temporal_client, cart, queue)
    await steer_cart(temporal_client, web.code, cart_id, CartLineChange(sku=sku, quantity=2))
    assert holds(db, "cart", cart_id) == {("WH1", sku): 2}
    frozen = await steer_cart(temporal_client, web.code, cart_id, None)
    req = OnlineOrderRequest(
        source="web",
        store_code=web.code,
        order=ExternalOrder(
            external_id=cart_id,
            number="",
            currency=web.currency,
            lines=tuple(
                ExternalLine(str(n), ln.sku, ln.quantity)
                for n, ln in enumerate(frozen.lines, start=1)
            ),
            email="kim@example.test",
            customer_name="Kim",
            country="DE",
        ),
        cart_id=cart_id,
        payment_method="pm_card_visa",
    )
    answer = await checkout_order(temporal_client, wf, req, queue)
    assert answer.status == "accepted" and answer.total == 4980
    assert gateway.retrieve_intent(answer.payment_intent).status == "requires_capture"
    assert holds(db, "cart", cart_id) == {} and holds(db, "order", wf) == {("WH1", sku): 2}
    return answer


@pytest.mark.usefixtures("web_worker")
async def test_cancelled_cart_closes_and_releases_its_holds(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, db, temporal_client
) -> None:
    """Cancelling a cart that holds stock runs its cart.close compensation and frees the stock."""
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    headers = {"X-Storefront-Key": key}
    try:
        sku = new_product(db, {"BER": 3})
        made = await api.post("/storefront/carts", json={}, headers=headers)
        assert made.status_code == 201, made.text
        cart_id = made.json()["cart_id"]
        added = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 2}, headers=headers
        )
        assert added.status_code == 200, added.text
        assert holds(db, "cart", cart_id) == {("BER", sku): 2} and atp(db, "BER", sku) == 1

        handle = temporal_client.get_workflow_handle(cart_workflow_id(store.code, cart_id))
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await asyncio.wait_for(handle.result(), timeout=20)
        assert isinstance(ended.value.cause, CancelledError)

        # Database: the holds are gone and the stock is available again; the cart is expired.
        assert holds(db, "cart", cart_id) == {} and atp(db, "BER", sku) == 3
        assert level(db, "BER", sku).reserved == 0 and level(db, "BER", sku).on_hand == 3
        assert (await api.get(f"/storefront/carts/{cart_id}", headers=headers)).json()[
            "status"
        ] == "expired"
        late = await api.post(
            f"/storefront/carts/{cart_id}/lines", json={"sku": sku, "quantity": 1}, headers=headers
        )
        assert late.status_code == 409
        assert_reservations_balanced(db)

        # History: open, the line, then the compensation as an activity of its own.
        assert activity_types(await handle.fetch_history()) == [
            "cart.open",
            "cart.set_line",
            "cart.close",
        ]
    finally:
        disconnect(db, store.code)


async def test_an_order_cancelled_by_ops_voids_then_releases(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, gateway, web_settings, web
) -> None:
    """Cancelled from the Temporal UI while fulfilling: the card is voided, then the holds go."""
    queue = f"web-cancel-{uuid.uuid4().hex[:6]}"
    children_queue = f"{queue}-children"
    worker = Worker(
        temporal_client,
        task_queue=queue,
        workflows=[OnlineOrderWorkflow, CartWorkflow, StockSyncWorkflow, StockResyncWorkflow],
        activities=webstore_activities(
            db, gateway, storefront_factory(db, web_settings), children_queue
        ),
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=sandbox_runner(),
    )
    children = Worker(
        temporal_client,
        task_queue=children_queue,
        workflows=[StubShipFromStore, StubBopis],
        workflow_runner=sandbox_runner(),
    )
    sku = new_product(db, {"WH1": 3}, price=2490)
    cart_id = uuid.uuid4().hex
    wf = online_order_workflow_id("web", cart_id)
    async with worker, children:
        answer = await _place_web_order(temporal_client, db, gateway, web, queue, sku, cart_id)
        await eventually(lambda: is_running(temporal_client, f"ship:{wf}:WH1"))
        handle = temporal_client.get_workflow_handle_for(OnlineOrderWorkflow.run, wf)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await asyncio.wait_for(handle.result(), timeout=20)
        assert isinstance(ended.value.cause, CancelledError)
        status = await handle.query(OnlineOrderWorkflow.status)
        history = await handle.fetch_history()
        cart_handle = temporal_client.get_workflow_handle(cart_workflow_id(web.code, cart_id))
        await cart_handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(cart_handle.result(), timeout=20)

    assert holds(db, "order", wf) == {} and atp(db, "WH1", sku) == 3
    with db.unit_of_work() as s:
        pays = s.scalars(select(Payment).where(Payment.workflow_id == wf)).all()
        assert [p.status for p in pays] == ["voided"]
        summary = online_orders.summary(s, wf)
        assert summary is not None and summary.status == "cancelled"
    assert gateway.retrieve_intent(answer.payment_intent).status == "canceled"
    assert_reservations_balanced(db)
    assert activity_types(history)[-3:] == [
        "tender.void_all",
        "online.release",
        "online.set_status",
    ]
    assert status.compensating and status.status == "cancelled"
