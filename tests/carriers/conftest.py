"""Carrier tests (issue 19): a FakeShippoServer, and a time-skipping Temporal of their own whose
fulfilment worker buys labels through the Shippo adapter and runs CarrierTracking."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers.api import asgi_api, password_login
from helpers.carriers import WEBHOOK_SECRET
from helpers.fake_shippo import FakeShippoServer
from helpers.fake_shopify import FakeShopifyServer
from helpers.fulfilment import shopify_store
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.common import FULFILMENT_TASK_QUEUE
from db.session import Database
from integrations.shippo import ShippoCarrier
from tillflow.payloads import DATA_CONVERTER


@pytest.fixture(scope="session")
def shippo() -> Iterator[FakeShippoServer]:
    server = FakeShippoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def carrier_settings(test_settings, shippo: FakeShippoServer):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    from pydantic import SecretStr

    return test_settings.model_copy(
        update={
            "shippo_api_token": SecretStr(shippo.token),
            "shippo_base_url": shippo.url,
            "shippo_webhook_secret": SecretStr(WEBHOOK_SECRET),
        }
    )


@pytest.fixture(scope="session")
async def carriers_env(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, gateway, carrier_settings
) -> AsyncIterator[WorkflowEnvironment]:
    """OnlineOrder, ShipFromStore with Shippo labels, CarrierTracking."""
    from tillflow.adapters import storefront_factory
    from tillflow.carriers import carrier_for
    from tillflow.workers import fulfilment_activities, sandbox_runner, webstore_worker
    from workflows.bopis import BopisWorkflow
    from workflows.carrier_tracking import CarrierTrackingWorkflow
    from workflows.ship_from_store import ShipFromStoreWorkflow

    carrier = carrier_for(carrier_settings)
    assert isinstance(carrier, ShippoCarrier)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    workers = [
        webstore_worker(env.client, db, gateway, storefront_factory(db, carrier_settings)),
        Worker(
            env.client,
            task_queue=FULFILMENT_TASK_QUEUE,
            workflows=[BopisWorkflow, ShipFromStoreWorkflow, CarrierTrackingWorkflow],
            # fulfilment_activities includes carriers.record_tracking (the tracking webhook's).
            activities=fulfilment_activities(
                db, carrier_settings, carrier=carrier, search_attributes=False
            ),
            activity_executor=ThreadPoolExecutor(max_workers=4),
            workflow_runner=sandbox_runner(),
        ),
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    yield env
    for w in workers:
        await w.shutdown()
    await asyncio.gather(*tasks, return_exceptions=True)
    await env.shutdown()
    carrier.close()


@pytest.fixture(scope="session")
async def capi(db: Database, carriers_env, carrier_settings, gateway) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with asgi_api(
        carrier_settings, db=db, client=carriers_env.client, gateway=gateway
    ) as http:
        yield http


@pytest.fixture(scope="session")
def carrier_shopify() -> Iterator[FakeShopifyServer]:
    server = FakeShopifyServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def carrier_shop(db: Database, carrier_shopify: FakeShopifyServer) -> Iterator[Any]:
    with shopify_store(db, carrier_shopify) as store:
        yield store


@pytest.fixture(scope="session")
async def packer(capi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(capi, "finn", "fulfil-demo")
