"""Catalogue sync tests: a CatalogSync worker of their own (own task queue), an API of their own
pointing at it, fake Shopify / WooCommerce servers, and a connected store per test."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from helpers.api import own_api, password_login
from helpers.fake_shopify import FakeShopifyServer
from helpers.fake_woocommerce import FakeWooCommerceServer
from helpers.webstore import connect, disconnect, eventually
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from contracts.catalog import catalog_sync_workflow_id, start_catalog_sync, sync_request
from db.models_catalog_sync import CatalogSyncCursor
from db.repositories import webstores
from db.session import Database
from tillflow.adapters import storefront_factory
from tillflow.workers import catalog_sync_activities, ownership, sandbox_runner
from workflows.catalog_sync import CatalogSyncWorkflow

QUEUE = f"tillflow-catalog-sync-test-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def sync_settings(test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Short debounce and poll; descriptions owned by the web store, titles by tillflow."""
    return test_settings.model_copy(
        update={
            "catalog_sync_debounce_ms": 150,
            "catalog_sync_max_delay_ms": 1500,
            "catalog_sync_poll_ms": 100,
            "web_task_queue": QUEUE,
            "catalog_descriptions_owner": "webstore",
            "catalog_titles_owner": "tillflow",
        }
    )


@pytest.fixture(scope="session")
async def catalog_worker(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, sync_settings
) -> AsyncIterator[None]:
    """The CatalogSync workflow and its activities on this folder's own task queue."""
    from concurrent.futures import ThreadPoolExecutor

    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[CatalogSyncWorkflow],
        activities=catalog_sync_activities(
            db, storefront_factory(db, sync_settings), ownership(sync_settings)
        ),
        activity_executor=ThreadPoolExecutor(max_workers=8),
        workflow_runner=sandbox_runner(),
    )
    task = asyncio.create_task(worker.run())
    yield
    await worker.shutdown()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture(scope="session")
async def capi(db: Database, temporal_client: Client, sync_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """An API of its own whose catalogue sync routes start workflows on this folder's queue."""
    async with own_api(sync_settings, db=db, client=temporal_client, gateway=gateway) as at:
        yield at("127.0.0.1")


@pytest.fixture
async def head_office(capi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(capi, "admin", "admin-demo")


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


async def _synced(
    db: Database, client: Client, settings: Any, store: webstores.StoreConfig
) -> AsyncIterator[webstores.StoreConfig]:
    await start_catalog_sync(client, sync_request(settings, store.code), task_queue=QUEUE)

    def cursor_ready() -> bool:
        with db.unit_of_work() as s:
            return s.get(CatalogSyncCursor, store.id) is not None

    await eventually(cursor_ready)  # from here on, every outbox row is this store's to hear of
    yield store
    disconnect(db, store.code)
    with contextlib.suppress(RPCError):
        await client.get_workflow_handle(catalog_sync_workflow_id(store.code)).terminate()


@pytest.fixture
async def shop(db, temporal_client, sync_settings, fake_shopify, catalog_worker):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A Shopify store on the fake, with its CatalogSync running."""
    loc = fake_shopify.add_location()
    store = connect(
        db,
        "shopify",
        base_url=fake_shopify.url,
        access_token=fake_shopify.token,
        locations=[("BER", str(loc))],
    )
    async for s in _synced(db, temporal_client, sync_settings, store):
        yield s


@pytest.fixture
async def woo(db, temporal_client, sync_settings, fake_woo, catalog_worker):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """A WooCommerce store on the fake, with its CatalogSync running."""
    store = connect(
        db,
        "woocommerce",
        base_url=fake_woo.url,
        consumer_key=fake_woo.key,
        consumer_secret=fake_woo.secret,
        locations=[("BER", "")],
    )
    async for s in _synced(db, temporal_client, sync_settings, store):
        yield s
