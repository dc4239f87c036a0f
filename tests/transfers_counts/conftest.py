"""Transfers, counts and the stock view: the API on the suite's Temporal dev server, with the
Transfer / Count worker on a task queue of its own (so no other test's worker takes its tasks)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from helpers.api import own_api, password_login, till_login
from helpers.transfers import QUEUE
from sqlalchemy import select

from api.auth import hash_secret
from db.models import Location, User, UserLocation
from db.session import Database
from tillflow.workers import backoffice_worker


@pytest.fixture(scope="module")
async def ops(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, test_settings, gateway
) -> AsyncIterator[httpx.AsyncClient]:
    """An API whose transfers and counts run on QUEUE, with a worker there; small count
    thresholds (2 units, value not checked)."""
    worker = backoffice_worker(temporal_client, db, task_queue=QUEUE)
    task = asyncio.create_task(worker.run())
    async with own_api(
        test_settings,
        db=db,
        client=temporal_client,
        gateway=gateway,
        backoffice_task_queue=QUEUE,
        count_variance_max_units=2,
        count_variance_max_value=0,
    ) as at:
        yield at("127.0.0.1")
    await worker.shutdown()
    await task


@pytest.fixture(scope="module")
async def mia(ops: httpx.AsyncClient) -> dict[str, str]:
    """Mia, manager of BER, LIS and WH1."""
    return await password_login(ops, "mia", "manager-demo")


@pytest.fixture(scope="module")
async def finn(ops: httpx.AsyncClient) -> dict[str, str]:
    """Finn, fulfilment staff at BER, LIS and WH1."""
    return await password_login(ops, "finn", "fulfil-demo")


@pytest.fixture(scope="module")
async def carl(ops: httpx.AsyncClient) -> dict[str, str]:
    """Carl, a cashier of BER, signed in at till BER1."""
    return await till_login(ops)


@pytest.fixture(scope="module")
async def luis(ops: httpx.AsyncClient) -> dict[str, str]:
    """Luis, a cashier of LIS only."""
    return await till_login(ops, "LIS1", "2001", "1234")


def _user(db: Database, role: str, codes: tuple[str, ...]) -> tuple[str, str]:
    name, password = f"{role}-{uuid.uuid4().hex[:8]}", "Corr3ct-Horse-Battery"
    with db.unit_of_work() as s:
        user = User(
            username=name,
            display_name=name,
            role=role,
            password_hash=hash_secret(password),
            active=True,
        )
        s.add(user)
        s.flush()
        for code in codes:
            loc = s.scalar(select(Location.id).where(Location.code == code))
            s.add(UserLocation(user_id=user.id, location_id=loc))
    return name, password


@pytest.fixture(scope="module")
async def lis_manager(ops: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """A manager of LIS only (not of BER nor WH1)."""
    name, password = _user(db, "manager", ("LIS",))
    return await password_login(ops, name, password)
