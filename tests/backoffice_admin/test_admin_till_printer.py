"""The device worker prints to the printer stored on its till's record, and a printer changed
through /admin/tills is used from the next job, without restarting the worker."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backoffice_admin_helpers import Store, unique
from helpers.api import till_login
from temporalio.worker import Worker

from activities.till_devices import till_devices_activities
from devices.worker import build_device_worker
from workflows.receipt import ReprintWorkflow
from workflows.till_devices import TillDevicesWorkflow


async def test_device_worker_prints_to_the_tills_stored_printer(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    api, admin, db, temporal_client, store: Store, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    r = await api.patch(
        f"/admin/tills/{store.till}", headers=admin, json={"printer_url": f"file:{first}"}
    )
    assert r.status_code == 200, r.text
    name = unique("k").lower()
    staff_code = str(50000 + int(name[1:], 16) % 29999)
    r = await api.post(
        "/admin/users",
        headers=store.manager_headers,
        json={
            "username": name,
            "display_name": "Kim Kasse",
            "role": "cashier",
            "locations": [store.code],
            "staff_code": staff_code,
            "pin": "60417",
        },
    )
    assert r.status_code == 201, r.text
    cashier = await till_login(api, store.till, staff_code, "60417")

    # The central side answers "which printer?" (TillDevices) on a queue of this test's own; in
    # production it is the sales queue. The device worker is given no printer: it asks.
    pool = ThreadPoolExecutor(max_workers=2)
    lookup_queue = f"tests-till-devices-{uuid.uuid4().hex[:8]}"
    central = Worker(
        temporal_client,
        task_queue=lookup_queue,
        workflows=[TillDevicesWorkflow],
        activities=till_devices_activities(db),
        activity_executor=pool,
    )
    devices = build_device_worker(
        temporal_client,
        store.till,
        None,
        tmp_path / "jobs.sqlite",
        lookup_queue=lookup_queue,
        refresh_s=0,
    )
    tasks = [asyncio.create_task(w.run()) for w in (central, devices)]
    try:
        sale = await api.post(
            f"/tills/{store.till}/sales",
            json={
                "client_sale_id": uuid.uuid4().hex,
                "lines": [{"sku": "NOTEBOOK-A5", "quantity": 1}],
                "tenders": [{"kind": "cash", "amount": 2000}],
            },
            headers=cashier,
        )
        assert sale.status_code == 200, sale.text
        number = sale.json()["sale_id"].encode()
        await asyncio.wait_for(
            temporal_client.get_workflow_handle(sale.json()["workflow_id"]).result(), timeout=60
        )
        printed = first.read_bytes()
        # python-escpos' bytes: the drawer pulse (ESC p), then the receipt from its ESC @ on.
        assert printed.startswith(b"\x1bp") and b"\x1b@" in printed and number in printed

        # The store replaces its printer; the next job goes there, the worker still running.
        r = await api.patch(
            f"/admin/tills/{store.till}",
            headers=store.manager_headers,
            json={"printer_url": f"file:{second}"},
        )
        assert r.status_code == 200, r.text
        rp = await api.post(
            f"/tills/{store.till}/sales/{sale.json()['sale_id']}/reprint", headers=cashier
        )
        assert rp.status_code == 202, rp.text
        result = await asyncio.wait_for(
            temporal_client.get_workflow_handle_for(
                ReprintWorkflow.run, rp.json()["workflow_id"]
            ).result(),
            timeout=60,
        )
        assert result.done and str(second) in result.detail
        assert number in second.read_bytes() and b"REPRINT" in second.read_bytes()
        assert first.read_bytes() == printed  # nothing more went to the old printer
    finally:
        for w in (devices, central):
            await w.shutdown()
        await asyncio.gather(*tasks, return_exceptions=True)
        pool.shutdown()
