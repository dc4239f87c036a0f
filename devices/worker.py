"""The device worker of one till: polls the till's own queue and drives its printer and drawer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from contracts.devices import device_task_queue
from devices.activities import DeviceActivities

DEVICE_THREADS = 4


def build_device_worker(
    client: Client, till_code: str, printer_url: str, journal_path: str | Path
) -> Worker:
    """A Worker on ``devices:{till}`` running the sync print and drawer activities on threads."""
    activities = DeviceActivities(printer_url, till_code, journal_path)
    executor = ThreadPoolExecutor(
        max_workers=DEVICE_THREADS, thread_name_prefix=f"devices-{till_code}"
    )
    return Worker(
        client,
        task_queue=device_task_queue(till_code),
        activities=[activities.print_receipt, activities.open_drawer, activities.sale_devices],
        activity_executor=executor,
        # No more activity slots than threads, or tasks would sit in the pool's queue
        # while their heartbeat timeout runs.
        max_concurrent_activities=DEVICE_THREADS,
    )
