"""The web-store link's workers (online orders, carts, stock sync; stub fulfilment children) and
fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from helpers.fake_shopify import FakeShopifyServer
from helpers.fake_woocommerce import FakeWooCommerceServer
from helpers.fulfilment_stub import StubBopis, StubShipFromStore
from temporalio.client import Client
from temporalio.worker import Worker

from db.session import Database
from tillflow.adapters import storefront_factory
from tillflow.workers import sandbox_runner, start_stock_sync, webstore_worker

# Our stand-in children poll a queue of their own: the real Bopis / ShipFromStore may poll the real
# one.
STUB_FULFILMENT_QUEUE = "tillflow-fulfilment-stub"


@pytest.fixture(scope="session")
def web_settings(test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Short debounce so stock-sync tests stay fast."""
    return test_settings.model_copy(
        update={
            "stock_sync_debounce_ms": 300,
            "stock_sync_max_delay_ms": 3000,
            "stock_resync_minutes": 24 * 60,
        }
    )


@pytest.fixture(scope="session")
async def web_worker(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, gateway, web_settings
) -> AsyncIterator[None]:
    """The central worker's web part on the suite's Temporal server, plus TEST ONLY fulfilment
    children."""
    worker = webstore_worker(
        temporal_client,
        db,
        gateway,
        storefront_factory(db, web_settings),
        fulfilment_queue=STUB_FULFILMENT_QUEUE,
    )
    children = Worker(
        temporal_client,
        task_queue=STUB_FULFILMENT_QUEUE,
        workflows=[StubShipFromStore, StubBopis],
        workflow_runner=sandbox_runner(),
    )
    tasks = [asyncio.create_task(worker.run()), asyncio.create_task(children.run())]
    await start_stock_sync(temporal_client, web_settings)
    yield
    for w in (worker, children):
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def fake_shopify() -> Iterator[FakeShopifyServer]:
    server = FakeShopifyServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_woo() -> Iterator[FakeWooCommerceServer]:
    server = FakeWooCommerceServer().start()
    yield server
    server.stop()


@pytest.fixture
async def admin(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from helpers.api import password_login

    return await password_login(api, "admin", "admin-demo")


@pytest.fixture
async def manager(api) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from helpers.api import password_login

    return await password_login(api, "mia", "manager-demo")
