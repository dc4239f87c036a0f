"""Out of paper: the printer's DLE EOT status shows on the till page, the receipt waits, and once
paper is back it prints exactly once (through the device queue online, and from the agent
offline)."""

from __future__ import annotations

import asyncio
import uuid

from helpers.tills import TcpLink, wait_until

from devices.activities import drawer_kick_bytes
from devices.printers import EscposPrinter, PrinterConfig
from devices.status import parse_status
from devices.worker import build_device_worker
from workflows.sale import SaleWorkflow


def test_status_bytes() -> None:
    assert parse_status(0x12, 0x12).state == "ready"
    assert parse_status(0x12, 0x1E).state == "paper_low"
    assert parse_status(0x1A, 0x72, 0x32).state == "paper_out"
    assert parse_status(0x1A, 0x12, 0x16).state == "cover_open"
    assert parse_status(None, None).state == "unknown" and parse_status(None, None).can_print
    assert (
        parse_status(0xFF, 0x12).state == "unknown"
    )  # not a status byte: the printer does not do DLE EOT


async def test_paper_out_then_back_prints_the_receipt_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    central, start_agent, fake_printer, temporal_client, tmp_path
) -> None:
    fake_printer.paper = False
    assert not (
        await asyncio.to_thread(EscposPrinter(PrinterConfig.parse(fake_printer.url)).status)
    ).can_print
    worker = build_device_worker(
        temporal_client, "LIS2", fake_printer.url, tmp_path / "jobs.sqlite"
    )
    agent = await start_agent("LIS2", central.url, printer_url=fake_printer.url)
    await wait_until(
        lambda: agent.agent.printer_status.state == "paper_out", 10, "paper-out on the till"
    )
    status = await agent.status()
    assert status["printer"] == {"state": "paper_out", "detail": "out of paper: put in a new roll"}
    await agent.login("2002", "2345")
    async with worker:
        r = await agent.post(
            "/api/sales",
            {
                "client_sale_id": f"po-{uuid.uuid4().hex[:8]}",
                "lines": [{"sku": "HONEY-JAR", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 1000}],
            },
        )
        assert r.status_code == 200, r.text  # the sale never waits for paper
        sale = r.json()
        handle = temporal_client.get_workflow_handle(sale["workflow_id"])
        await asyncio.sleep(2.5)
        state = await handle.query(SaleWorkflow.status)
        assert state.settled and not state.receipt_printed  # waiting in the device queue
        assert sale["sale_id"].encode() not in fake_printer.received

        fake_printer.paper = True  # a new roll
        await asyncio.wait_for(handle.result(), timeout=60)
        state = await handle.query(SaleWorkflow.status)
        assert state.receipt_printed and state.drawer_opened
    assert (
        fake_printer.received.count(sale["sale_id"].encode()) == 2
    )  # once: as text and as barcode
    assert fake_printer.received.count(drawer_kick_bytes()) == 1
    await wait_until(
        lambda: agent.agent.printer_status.state == "ready",
        10,
        "the page to show the printer ready",
    )


async def test_offline_receipt_waits_for_paper_and_prints_once(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    central, start_agent, fake_printer
) -> None:
    link = TcpLink(central.port)
    await link.up()
    agent = await start_agent("LIS2", link.url, printer_url=fake_printer.url)
    await agent.login("2002", "2345")
    await wait_until(lambda: agent.agent.snapshot is not None, 10, "snapshot")
    await link.cut()
    fake_printer.paper = False
    cid = f"pof-{uuid.uuid4().hex[:8]}"
    r = await agent.post(
        "/api/sales",
        {
            "client_sale_id": cid,
            "lines": [{"sku": "HONEY-JAR", "quantity": 1}],
            "tenders": [{"kind": "cash", "amount": 1000}],
        },
    )
    assert r.status_code == 200 and r.json()["offline"], r.text
    assert r.json()["receipt_printed"] is False and "out of paper" in r.json()["printer"]
    assert (await agent.status())["printer"]["state"] == "paper_out"
    await asyncio.sleep(0.6)
    assert cid.encode() not in fake_printer.received
    fake_printer.paper = True
    await wait_until(
        lambda: fake_printer.received.count(cid.encode()) == 2, 10, "the queued receipt"
    )
    await asyncio.sleep(0.6)  # a few more printer polls: nothing prints twice
    assert fake_printer.received.count(cid.encode()) == 2
    assert fake_printer.received.count(drawer_kick_bytes()) == 1
    assert agent.agent.journal.queued_jobs() == []
