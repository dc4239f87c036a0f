"""Magento tests: the web part of the central worker (OnlineOrder, StockSync; stand-in fulfilment
children), a worker for MagentoPull on a queue of its own, and a FakeMagentoServer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from helpers.fulfilment_stub import StubBopis, StubShipFromStore
from helpers.magento import FakeMagentoServer
from helpers.webstore import connect, disconnect
from temporalio.client import Client
from temporalio.worker import Worker

from activities.magento_pull import MagentoPullActivities
from db.repositories import webstores
from db.session import Database
from tillflow.adapters import storefront_factory
from tillflow.workers import sandbox_runner, start_stock_sync, webstore_worker
from workflows.magento_pull import MagentoPullWorkflow

# Queues of their own: one process may not run two workers on a queue, and tests/webstore runs
# the web queue's and the stand-in children's. OnlineOrders of these tests run on WEB_QUEUE.
_RUN = uuid.uuid4().hex[:6]
WEB_QUEUE = f"tillflow-web-magento-{_RUN}"
STUB_FULFILMENT_QUEUE = f"tillflow-fulfilment-stub-magento-{_RUN}"
PULL_QUEUE = f"tillflow-magento-pull-{_RUN}"


@pytest.fixture(scope="session")
def magento_settings(test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return test_settings.model_copy(
        update={
            "web_task_queue": WEB_QUEUE,
            "webstore_secrets": {**test_settings.webstore_secrets},
            "stock_sync_debounce_ms": 300,
            "stock_sync_max_delay_ms": 3000,
            "stock_resync_minutes": 24 * 60,
        }
    )


@pytest.fixture(scope="session")
async def magento_worker(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway, magento_settings
) -> AsyncIterator[str]:
    """The web queue's worker (as tests/webstore's; a second poller there is harmless) and the
    MagentoPull worker; yields the pull's task queue."""
    storefronts = storefront_factory(db, magento_settings)
    web = webstore_worker(
        temporal_client,
        db,
        gateway,
        storefronts,
        task_queue=WEB_QUEUE,
        fulfilment_queue=STUB_FULFILMENT_QUEUE,
    )
    children = Worker(
        temporal_client,
        task_queue=STUB_FULFILMENT_QUEUE,
        workflows=[StubShipFromStore, StubBopis],
        workflow_runner=sandbox_runner(),
    )
    acts = MagentoPullActivities(db, storefronts, temporal_client, order_queue=WEB_QUEUE)
    pull = Worker(
        temporal_client,
        task_queue=PULL_QUEUE,
        workflows=[MagentoPullWorkflow],
        activities=[acts.stores, acts.pull_orders],
        workflow_runner=sandbox_runner(),
    )
    tasks = [asyncio.create_task(w.run()) for w in (web, children, pull)]
    # StockSync is one per cluster: whichever worker starts it first runs it (either pushes to
    # Magento: both build their adapters with the same factory).
    await start_stock_sync(temporal_client, magento_settings, task_queue=WEB_QUEUE)
    yield PULL_QUEUE
    for w in (web, children, pull):
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="session")
async def magento_api(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway, magento_settings, magento_worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app handing web store deliveries to WEB_QUEUE (its own app, no sale worker)."""
    from api.app import create_app

    app = create_app(
        magento_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tillflow.test") as http:
            yield http


@pytest.fixture
def fake_magento() -> Iterator[FakeMagentoServer]:
    server = FakeMagentoServer(sources=("berlin", "warehouse")).start()
    yield server
    server.stop()


@pytest.fixture
def mag(db, fake_magento) -> Iterator[webstores.StoreConfig]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    store = connect(
        db,
        "magento",
        base_url=fake_magento.url,
        access_token=fake_magento.token,
        locations=[("BER", "berlin"), ("WH1", "warehouse")],
    )
    yield store
    disconnect(db, store.code)


@pytest.fixture
async def admin(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from helpers.api import password_login

    return await password_login(api, "admin", "admin-demo")
