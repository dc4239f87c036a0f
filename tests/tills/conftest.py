"""Fixtures of the till tests: the central API and till agents under uvicorn, a fake network
printer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from helpers.tills import AgentUnderTest, FakeEscposPrinter, Served

from tills.agent import create_agent_app
from tills.config import AgentConfig
from tills.till import TillAgent


@pytest.fixture
async def central(db, temporal_client, api, test_settings, gateway) -> AsyncIterator[Served]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """The central API on a real port; tests may stop and restart it.

    Its workflows run on the suite's in-process sale worker (the `api` fixture's): Temporal allows
    one worker per task queue and client in a process, and a worker outlives an API restart anyway.
    """
    from api.app import create_app

    server = Served(
        lambda: create_app(
            test_settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
        )
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_agent(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[AgentUnderTest]]]:
    """Start till agents under uvicorn (fast probes and uploads); all are stopped after the test."""
    running: list[AgentUnderTest] = []

    async def start(till: str, api_url: str, **options: Any) -> AgentUnderTest:
        config = AgentConfig(
            till=till,
            api_url=api_url,
            data_dir=tmp_path / f"till-{till}",
            printer_url=f"file:{tmp_path / f'till-{till}' / 'receipts.bin'}",
            probe_interval=0.2,
            upload_interval=0.3,
            upload_batch=20,
            upload_wait=10,
            printer_poll=0.2,
        )
        config = replace(config, **options)
        agent = TillAgent(config)
        server = Served(lambda: create_agent_app(config, agent=agent))
        await server.start()
        running.append(AgentUnderTest(agent, server))
        return running[-1]

    yield start
    for a in running:
        await a.http.aclose()
        await a.server.stop()


@pytest.fixture
async def fake_printer() -> AsyncIterator[FakeEscposPrinter]:
    printer = FakeEscposPrinter()
    await printer.start()
    yield printer
    await printer.stop()


# ---- the till page's day (issue 15): a till of its own with a Shift worker and its printer -------


@dataclass
class DayTill:
    """A till of its own at BER; `central` runs shifts on its own Shift worker; `printer` is the
    file its device worker prints central's jobs (receipts, Z reports) to."""

    code: str
    printer: Path
    central: Served


@pytest.fixture
async def day_till(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    db, temporal_client, api, test_settings, gateway, tmp_path
) -> AsyncIterator[DayTill]:
    import asyncio
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select, update
    from temporalio.worker import Worker

    from activities.shifts import shift_activities
    from api.app import create_app
    from db.models import Location, Till
    from devices.worker import build_device_worker
    from workflows.shift import ShiftWorkflow

    code = f"D{uuid.uuid4().hex[:6].upper()}"
    queue = f"test-day-{code}"
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
        s.add(Till(code=code, location_id=ber, name=f"Day test {code}", active=True))
        # A store that sells in shifts, as a real one does (the suite's seed leaves BER without).
        s.execute(update(Location).where(Location.id == ber).values(shift_required=True))
    printer = tmp_path / f"{code}.central.bin"
    devices = build_device_worker(
        temporal_client, code, f"file:{printer}", tmp_path / f"{code}.jobs.sqlite"
    )
    with ThreadPoolExecutor(4) as pool:
        worker = Worker(
            temporal_client,
            task_queue=queue,
            workflows=[ShiftWorkflow],
            activities=shift_activities(db),
            activity_executor=pool,
        )
        tasks = [asyncio.create_task(w.run()) for w in (devices, worker)]
        settings = test_settings.model_copy(
            update={"shift_task_queue": queue, "shift_variance_threshold": 100}
        )
        server = Served(
            lambda: create_app(
                settings, db=db, client=temporal_client, gateway=gateway, run_worker=False
            )
        )
        await server.start()
        try:
            yield DayTill(code=code, printer=printer, central=server)
        finally:
            await server.stop()
            await worker.shutdown()
            await devices.shutdown()
            await asyncio.gather(*tasks)
            with db.unit_of_work() as s:
                s.execute(update(Location).where(Location.id == ber).values(shift_required=False))
