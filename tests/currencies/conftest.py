"""The Zürich store (CHF) of the demo seed: its cashier signed in at ZRH1, and a device worker
printing ZRH1's receipts (the suite's shared device worker serves the EUR tills only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers.api import till_login
from temporalio.client import Client


@pytest.fixture(scope="module")
async def zrh_printer(
    temporal_client: Client, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Path]:
    from devices.worker import build_device_worker

    root = tmp_path_factory.mktemp("zrh")
    out = root / "ZRH1.bin"
    worker = build_device_worker(temporal_client, "ZRH1", f"file:{out}", root / "ZRH1.jobs.sqlite")
    task = asyncio.create_task(worker.run())
    yield out
    await worker.shutdown()
    await task


@pytest.fixture(scope="module")
async def zoe(api, zrh_printer) -> dict[str, str]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Zoe, the cashier of the Zürich store, signed in at till ZRH1."""
    return await till_login(api, "ZRH1", "3001", "1234")
