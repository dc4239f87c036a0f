"""Cart holds are capped: units per line, lines per cart, open carts per web store and per shopper
session (409 / 429 with a clear message), and touching a cart never keeps it past its maximum
lifetime (that one on the time-skipping test server)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from helpers.webstore import (
    assert_reservations_balanced,
    atp,
    connect,
    disconnect,
    holds,
    new_product,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.carts import CartActivities
from contracts.cart import CartLineChange, CartRequest
from tillflow.payloads import DATA_CONVERTER
from tillflow.workers import sandbox_runner
from workflows.cart import CartWorkflow

CAPS = {
    "cart_max_lines": 2,
    "cart_max_line_units": 3,
    "cart_max_open_per_shopper": 2,
    "cart_max_open_per_store": 4,
}


@pytest.fixture
async def capped(db, temporal_client, test_settings, gateway, web_worker):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The API with small cart caps (its carts run on the suite's web worker)."""
    from api.app import create_app

    settings = test_settings.model_copy(update=CAPS)
    app = create_app(settings, db=db, client=temporal_client, gateway=gateway, run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tillflow.test") as http:
            yield http


@pytest.fixture
def web(db):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    key = f"sfk_test_{uuid.uuid4().hex}"
    store = connect(db, "web", storefront_key=key)
    yield store, {"X-Storefront-Key": key}
    disconnect(db, store.code)


async def test_units_per_line_and_lines_per_cart_are_capped(capped, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    _, key = web
    a, b, c = (new_product(db, {"WH1": 10}) for _ in range(3))
    cart = await capped.post("/storefront/carts", json={}, headers=key)
    assert cart.status_code == 201, cart.text
    cart_id = cart.json()["cart_id"]
    lines = f"/storefront/carts/{cart_id}/lines"

    # Units of one product: at most 3, by adding or by setting.
    assert (
        await capped.post(lines, json={"sku": a, "quantity": 3}, headers=key)
    ).status_code == 200
    more = await capped.post(lines, json={"sku": a, "quantity": 1}, headers=key)
    assert more.status_code == 409, more.text
    assert more.json()["error"] == {
        "code": "cart_line_full",
        "message": "A cart holds at most 3 units of one product; this would make 4.",
    }
    assert (await capped.put(f"{lines}/{a}", json={"quantity": 4}, headers=key)).status_code == 409
    assert holds(db, "cart", cart_id) == {("WH1", a): 3} and atp(db, "WH1", a) == 7

    # Different products: at most 2; a third is refused and nothing of it is held.
    assert (
        await capped.post(lines, json={"sku": b, "quantity": 1}, headers=key)
    ).status_code == 200
    third = await capped.post(lines, json={"sku": c, "quantity": 1}, headers=key)
    assert third.status_code == 409, third.text
    assert third.json()["error"]["code"] == "cart_full"
    assert "at most 2 different products" in third.json()["error"]["message"]
    assert atp(db, "WH1", c) == 10
    # Changing a line it has is fine; after removing one, the third fits.
    assert (await capped.put(f"{lines}/{b}", json={"quantity": 2}, headers=key)).status_code == 200
    assert (await capped.delete(f"{lines}/{b}", headers=key)).status_code == 200
    assert (
        await capped.post(lines, json={"sku": c, "quantity": 1}, headers=key)
    ).status_code == 200
    assert holds(db, "cart", cart_id) == {("WH1", a): 3, ("WH1", c): 1}
    assert_reservations_balanced(db)


async def test_open_carts_are_capped_per_shopper_and_per_web_store(capped, db, web) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store, key = web

    async def new_cart(session: str | None) -> httpx.Response:
        headers = {**key, **({"X-Shopper-Session": session} if session else {})}
        return await capped.post("/storefront/carts", json={}, headers=headers)

    # One shopper session: two open carts, then 429 with what to do.
    assert [(await new_cart("sess-ann")).status_code for _ in range(2)] == [201, 201]
    refused = await new_cart("sess-ann")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "limit_reached"
    assert "You have 2 open carts" in refused.json()["error"]["message"]
    # Another session is another shopper ...
    assert (await new_cart("sess-bob")).status_code == 201
    # ... and without the header the caller's address stands for the shopper.
    assert (await new_cart(None)).status_code == 201
    # Four open carts: the web store's own cap, for every shopper.
    full = await new_cart("sess-cy")
    assert full.status_code == 429, full.text
    assert "This web store has 4 open carts" in full.json()["error"]["message"]
    # Refusals make no cart: only the four are open.
    with db.unit_of_work() as s:
        from db.repositories import carts

        assert carts.open_count(s, store.id) == 4
        assert carts.open_count(s, store.id, shopper="") == 0  # the session is never kept raw
    # Another web store has its own count.
    other_key = f"sfk_test_{uuid.uuid4().hex}"
    other = connect(db, "web", storefront_key=other_key)
    try:
        elsewhere = await capped.post(
            "/storefront/carts",
            json={},
            headers={"X-Storefront-Key": other_key, "X-Shopper-Session": "sess-ann"},
        )
        assert elsewhere.status_code == 201, elsewhere.text
    finally:
        disconnect(db, other.code)


# ---- the maximum lifetime, on the time-skipping server ------------------------------------------

QUEUE = "carts-caps-time-skipping"


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


async def test_touching_a_cart_never_keeps_it_past_its_maximum_lifetime(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    skipping, db
) -> None:
    store = connect(db, "web")
    try:
        sku = new_product(db, {"BER": 10})
        cart_id = uuid.uuid4().hex
        handle = await skipping.client.start_workflow(
            CartWorkflow.run,
            CartRequest(
                cart_id=cart_id,
                store_code=store.code,
                store_id=store.id,
                location_ids=(),
                ttl_s=15 * 60,
                max_lifetime_s=30 * 60,
            ),
            id=f"cart:{store.code}:{cart_id}",
            task_queue=QUEUE,
        )
        first = await handle.execute_update(
            CartWorkflow.change, CartLineChange(sku=sku, quantity=1)
        )
        opened = first.expires_at - timedelta(minutes=15)
        # A change every 10 minutes: each used to hold the cart 15 more minutes, forever.
        for minute in (10, 20, 28):
            await skipping.sleep(timedelta(minutes=10 if minute < 28 else 8))
            state = await handle.execute_update(
                CartWorkflow.change, CartLineChange(sku=sku, quantity=1)
            )
            # Held 15 minutes from the change, but never past 30 minutes after it opened.
            assert state.expires_at <= opened + timedelta(minutes=30, seconds=1), minute
        assert state.expires_at >= opened + timedelta(minutes=29, seconds=59)
        assert holds(db, "cart", cart_id) == {("BER", sku): 4} and atp(db, "BER", sku) == 6
        await skipping.sleep(timedelta(minutes=3))  # 31 min after it opened, 3 after its change
        result = await handle.result()
        assert result.status == "expired" and result.lines == ()
        assert holds(db, "cart", cart_id) == {} and atp(db, "BER", sku) == 10
        with pytest.raises(RPCError):  # the cart's workflow has ended: no change revives it
            await handle.execute_update(CartWorkflow.change, CartLineChange(sku=sku, quantity=1))
        assert_reservations_balanced(db)
    finally:
        disconnect(db, store.code)
