"""The device worker of one till: polls the till's own queue and drives its printer and drawer."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from contracts.common import SALES_TASK_QUEUE
from contracts.devices import TillDevices, device_task_queue, fetch_till_devices
from devices.activities import DeviceActivities
from devices.till_record import PrinterFromRecord

DEVICE_THREADS = 4


def build_device_worker(
    client: Client,
    till_code: str,
    printer_url: str | None,
    journal_path: str | Path,
    *,
    lookup_queue: str = SALES_TASK_QUEUE,
    refresh_s: float = 60.0,
    fallback_url: str | None = None,
) -> Worker:
    """A Worker on ``devices:{till}`` running the sync print and drawer activities on threads.

    `printer_url` fixes the printer (the `--printer` override); None prints to the printer on the
    till's record, asked on `lookup_queue` and again after `refresh_s` or a failed print
    (`fallback_url` while the record names none). Call from the worker's event loop."""
    record = None
    if not printer_url:

        async def fetch() -> TillDevices:
            return await fetch_till_devices(client, till_code, task_queue=lookup_queue)

        record = PrinterFromRecord(
            till_code,
            fetch,
            asyncio.get_running_loop(),
            refresh_s=refresh_s,
            fallback_url=fallback_url,
        )
    activities = DeviceActivities(printer_url, till_code, journal_path, record=record)
    executor = ThreadPoolExecutor(
        max_workers=DEVICE_THREADS, thread_name_prefix=f"devices-{till_code}"
    )
    return Worker(
        client,
        task_queue=device_task_queue(till_code),
        activities=[
            activities.print_receipt,
            activities.open_drawer,
            activities.sale_devices,
            activities.print_z_report,
        ],
        activity_executor=executor,
        # No more activity slots than threads, or tasks would sit in the pool's queue
        # while their heartbeat timeout runs.
        max_concurrent_activities=DEVICE_THREADS,
    )
