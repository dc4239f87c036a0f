"""Fixtures of the till tests: the central API and till agents under uvicorn, a fake network
printer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
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
