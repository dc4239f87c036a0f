"""A hung central system never holds a cashier for long: with its Temporal server frozen (SIGSTOP),
a cash sale at the till goes offline within 3 s, an API route answers 503 + Retry-After at its
deadline, and once it thaws (SIGCONT) every sale made meanwhile lands exactly once.

The test freezes a Temporal dev server of its own (never the suite's), with the central API and
its in-process sale worker on it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from helpers.stock import assert_ledger_balanced
from helpers.tills import Served, free_port, login, wait_until
from sqlalchemy import func, select
from temporalio.client import Client

from contracts.common import SEARCH_ATTRIBUTES
from contracts.sale import sale_workflow_id
from db.models import Order
from tillflow.payloads import DATA_CONVERTER

TEMPORAL = Path(sys.executable).parent / "temporal"
API_DEADLINE_S = 2.0
MARGIN_S = 1.5  # scheduling slack on a busy 2-core machine


class FrozenTemporal:
    """A Temporal dev server in a process of its own, so a test can SIGSTOP and SIGCONT it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> Client:
        attributes = [f"--search-attribute={name}=Keyword" for name in SEARCH_ATTRIBUTES]
        self.proc = subprocess.Popen(
            [
                str(TEMPORAL),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--headless",
                "--log-level",
                "error",
                *attributes,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, "the Temporal dev server exited"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            assert time.monotonic() < deadline, "the Temporal dev server did not start"
            await asyncio.sleep(0.2)
        while True:
            try:
                return await Client.connect(f"127.0.0.1:{self.port}", data_converter=DATA_CONVERTER)
            except RuntimeError:
                assert time.monotonic() < deadline, "the Temporal dev server did not answer"
                await asyncio.sleep(0.2)

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
async def stack(db, test_settings, gateway) -> AsyncIterator[tuple[FrozenTemporal, Served]]:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    """Its own Temporal server; the central API (deadline 2 s) with its sale worker on it."""
    from api.app import create_app

    temporal = FrozenTemporal()
    try:
        client = await temporal.start()
        settings = test_settings.model_copy(update={"api_deadline_s": API_DEADLINE_S})
        central = Served(
            lambda: create_app(settings, db=db, client=client, gateway=gateway, run_worker=True)
        )
        await central.start()
        try:
            yield temporal, central
        finally:
            temporal.thaw()
            await central.stop()
    finally:
        temporal.stop()


def orders_for(db, client_sale_id: str) -> int:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """Orders of a till sale under its id, or under a replay's new id for it."""
    wf = sale_workflow_id("BER2", client_sale_id)
    with db.unit_of_work() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Order)
                .where((Order.workflow_id == wf) | Order.workflow_id.like(f"{wf}~%"))
            )
            or 0
        )


async def test_a_frozen_central_system_never_holds_the_cashier(stack, start_agent, db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    temporal, central = stack
    agent = await start_agent("BER2", central.url)
    await agent.login("1002", "2345")
    await wait_until(lambda: agent.agent.snapshot is not None and agent.agent.online, 20, "online")

    def cash_sale(cid: str) -> dict[str, object]:
        return {
            "client_sale_id": cid,
            "lines": [{"sku": "KEYRING", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 2000}],
        }

    warm = f"stall-on-{uuid.uuid4().hex[:8]}"
    r = await agent.post("/api/sales", cash_sale(warm))
    assert r.status_code == 200 and not r.json().get("offline"), r.text

    sold: list[str] = []
    async with httpx.AsyncClient(base_url=central.url, timeout=60) as api:
        auth = await login(api, "BER2", "1002", "2345")
        temporal.freeze()
        try:
            # (a) Cash sales while central hangs: each goes offline within 3 s, the first included
            # (it is the one that waits for the central answer).
            for i in range(3):
                cid = f"stall-{uuid.uuid4().hex[:8]}-{i}"
                started = time.monotonic()
                r = await agent.post("/api/sales", cash_sale(cid))
                took = time.monotonic() - started
                assert r.status_code == 200, r.text
                assert r.json()["offline"] is True and r.json()["sale_id"] == cid
                assert took < 3.0, f"sale {i} took {took:.2f} s"
                sold.append(cid)

            # (b) A route that needs Temporal answers 503 + Retry-After at its deadline.
            started = time.monotonic()
            r = await api.post(f"/tills/BER2/sales/{sold[0]}/abandon", headers=auth)
            took = time.monotonic() - started
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "1"
            assert r.json()["error"]["code"] == "temporarily_unavailable"
            assert "did not answer within 2 s" in r.json()["error"]["message"]
            assert API_DEADLINE_S - 0.1 <= took < API_DEADLINE_S + MARGIN_S, took
            # A route that does not need Temporal still answers as usual.
            assert (await api.get("/tills/BER2/catalog", headers=auth)).status_code == 200
        finally:
            temporal.thaw()

    # Thawed: the till uploads its journal; every sale made meanwhile lands exactly once (the
    # first one reached the central system too, before it froze).
    await wait_until(
        lambda: agent.agent.journal.counts().get("waiting", 0) == 0, 120, "the journal to upload"
    )
    counts = agent.agent.journal.counts()
    assert counts.get("applied") == len(sold) and not counts.get("rejected"), counts
    for cid in [warm, *sold]:
        assert orders_for(db, cid) == 1, cid
    assert_ledger_balanced(db)
