"""A printer that is off never fails or blocks the sale; the receipt prints once it is back."""

from __future__ import annotations

import asyncio
import socket
import uuid

from helpers.api import till_login

from devices.worker import build_device_worker
from workflows.sale import SaleWorkflow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_sale_succeeds_while_printer_is_off_and_prints_when_back(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, temporal_client, tmp_path
) -> None:
    port = _free_port()  # nothing listens: the printer is off
    worker = build_device_worker(
        temporal_client, "LIS2", f"tcp://127.0.0.1:{port}?timeout=2", tmp_path / "jobs.sqlite"
    )
    headers = await till_login(api, "LIS2", "2002", "2345")
    async with worker:
        r = await api.post(
            "/tills/LIS2/sales",
            json={
                "client_sale_id": uuid.uuid4().hex[:12],
                "lines": [{"sku": "HONEY-JAR", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 1000}],
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
        sale = r.json()
        handle = temporal_client.get_workflow_handle(sale["workflow_id"])
        await asyncio.sleep(2)
        status = await handle.query(SaleWorkflow.status)
        assert status.settled and not status.receipt_printed

        received = bytearray()

        async def printer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            writer.close()

        server = await asyncio.start_server(printer, "127.0.0.1", port)  # switched on
        async with server:
            await asyncio.wait_for(handle.result(), timeout=60)
        status = await handle.query(SaleWorkflow.status)
        assert status.receipt_printed and status.drawer_opened
        assert received.count(sale["sale_id"].encode()) == 2  # printed once: id as text + barcode
