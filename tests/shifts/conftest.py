"""Shifts: a till of their own at BER (so no other test's sales fall in its shifts), its device
worker printing to a file, the Shift worker on a task queue of its own, and an API starting
shifts there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers.api import own_api
from sqlalchemy import select
from temporalio.worker import Worker

from activities.shifts import shift_activities
from db.models import Location, Till
from db.session import Database
from devices.worker import build_device_worker
from workflows.shift import ShiftWorkflow

QUEUE = f"test-shifts-{uuid.uuid4().hex[:8]}"


@dataclass
class ShiftTill:
    code: str
    printer: Path
    api: httpx.AsyncClient


@pytest.fixture(scope="module")
async def shift_till(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db: Database, temporal_client, test_settings, gateway, api, tmp_path_factory
) -> AsyncIterator[ShiftTill]:
    code = f"S{uuid.uuid4().hex[:6].upper()}"
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        s.add(Till(code=code, location_id=ber, name=f"Shift test {code}", active=True))
    root = tmp_path_factory.mktemp("shift-devices")
    printer = root / f"{code}.bin"
    devices = build_device_worker(
        temporal_client, code, f"file:{printer}", root / f"{code}.jobs.sqlite"
    )
    worker = Worker(
        temporal_client,
        task_queue=QUEUE,
        workflows=[ShiftWorkflow],
        activities=shift_activities(db),
        activity_executor=__import__("concurrent.futures").futures.ThreadPoolExecutor(4),
    )
    tasks = [asyncio.create_task(w.run()) for w in (devices, worker)]
    async with own_api(
        test_settings,
        db=db,
        client=temporal_client,
        gateway=gateway,
        shift_task_queue=QUEUE,
        shift_variance_threshold=100,
        shift_paid_out_approval_above=2000,
    ) as at:
        yield ShiftTill(code=code, printer=printer, api=at("127.0.0.1"))
    await worker.shutdown()
    await devices.shutdown()
    await asyncio.gather(*tasks)
