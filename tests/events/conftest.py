"""Outbound event tests: an EventDelivery worker of their own (own task queue) on the dev server,
an API of their own pointing at it (private URLs allowed: the receiver is on 127.0.0.1), and a
local receiver per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers.api import own_api, password_login
from helpers.event_receiver import EventReceiver
from temporalio.client import Client
from temporalio.worker import Worker

from activities.event_delivery import event_delivery_activities
from db.session import Database
from tillflow.workers import sandbox_runner
from workflows.event_delivery import EventDeliveryWorkflow

QUEUE = f"tillflow-events-test-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def events_settings(test_settings):  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Fast polling and short backoffs on the dev server (the day of retries runs on the
    time-skipping server, test_event_dead_letters.py)."""
    return test_settings.model_copy(
        update={
            "events_allow_private_urls": True,
            "events_poll_ms": 100,
            "events_wait_s": 2.0,
            "events_initial_backoff_s": 0.2,
            "events_max_backoff_s": 1.0,
            "events_retry_window_hours": 1.0,
            "web_task_queue": QUEUE,
        }
    )


@pytest.fixture(scope="session")
async def events_worker(db: Database, temporal_client: Client) -> AsyncIterator[None]:
    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[EventDeliveryWorkflow],
        activities=event_delivery_activities(db, timeout_s=5.0),
        activity_executor=ThreadPoolExecutor(max_workers=8),
        workflow_runner=sandbox_runner(),
    )
    task = asyncio.create_task(worker.run())
    yield
    await worker.shutdown()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture(scope="session")
async def eapi(db: Database, temporal_client: Client, events_settings, gateway) -> Any:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    async with own_api(events_settings, db=db, client=temporal_client, gateway=gateway) as at:
        yield at("127.0.0.1")


@pytest.fixture
async def admin(eapi) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    return await password_login(eapi, "admin", "admin-demo")


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    server = EventReceiver().start()
    yield server
    server.stop()
