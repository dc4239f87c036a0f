"""Loyalty tests: customers, SKUs, recorded orders and returns made per test (unique ids), the
loyalty worker on a task queue of its own and an API starting LoyaltyAdjust there."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers.api import own_api, password_login
from helpers.catalog import make_user
from temporalio.client import Client
from temporalio.worker import Worker

from activities.loyalty import loyalty_activities
from db.session import Database
from tests.loyalty.loyalty_kit import Kit, LoyaltyApi, rules_with
from tillflow.workers import sandbox_runner
from workflows.loyalty_expiry import LoyaltyAdjustWorkflow, LoyaltyExpiryWorkflow

QUEUE = f"test-loyalty-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="package")
async def loyalty_worker(temporal_client: Client, db: Database) -> AsyncIterator[str]:
    """The loyalty workflows and activities on this package's own task queue."""
    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[LoyaltyAdjustWorkflow, LoyaltyExpiryWorkflow],
        activities=loyalty_activities(db, rules_with()),
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_runner=sandbox_runner(),
    )
    async with worker:
        yield QUEUE


@pytest.fixture(scope="package")
async def loyalty_api(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client: Client, test_settings, gateway, loyalty_worker: str
) -> AsyncIterator[LoyaltyApi]:
    async with own_api(
        test_settings,
        db=db,
        client=temporal_client,
        gateway=gateway,
        loyalty_task_queue=loyalty_worker,
        loyalty_tiers="base:0:100,silver:10000:150",
    ) as at:
        http = at("127.0.0.1")

        async def login(role: str) -> dict[str, str]:
            user, pw = make_user(db, role, [], ("LIS",))
            return await password_login(http, user, pw)

        yield LoyaltyApi(
            http=http,
            manager=await login("manager"),
            cashier=await login("cashier"),
            fulfilment=await login("fulfilment"),
        )


@pytest.fixture
def kit(db: Database) -> Kit:
    return Kit(db)
