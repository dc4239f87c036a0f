"""The device worker on a real Temporal dev server: a workflow prints through the till's queue."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.devices import DeviceResult, PrintJob, device_task_queue
from devices.receipt import receipt_bytes
from devices.worker import build_device_worker

TEST_QUEUE = "tests-devices-workflows"


@workflow.defn(sandboxed=False)
class PrintOnTillWorkflow:
    """Test-only workflow: sends one print job to a till's device queue, twice."""

    @workflow.run
    async def run(self, job: PrintJob) -> list[DeviceResult]:
        results = []
        for _ in range(2):  # the second run proves the device worker prints a job id once
            result = await workflow.execute_activity(
                "print_receipt",
                job,
                task_queue=device_task_queue(job.receipt.till_code),
                result_type=DeviceResult,
                start_to_close_timeout=timedelta(seconds=30),
                heartbeat_timeout=timedelta(seconds=20),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            results.append(result)
        return results


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[Client]:
    temporal = Path(sys.executable).parent / "temporal"
    # start_local picks a free port itself: never the 7233 of another server on this machine.
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(temporal))
    try:
        yield env.client
    finally:
        await env.shutdown()


async def test_print_receipt_through_a_real_worker(
    client: Client, tmp_path: Path, print_job: PrintJob
) -> None:
    out = tmp_path / "receipts" / "T1.bin"
    device_worker = build_device_worker(client, "T1", f"file:{out}", tmp_path / "devices.sqlite")
    workflow_worker = Worker(
        client,
        task_queue=TEST_QUEUE,
        workflows=[PrintOnTillWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with device_worker, workflow_worker:
        first, second = await client.execute_workflow(
            PrintOnTillWorkflow.run,
            print_job,
            id=f"test-devices-{uuid.uuid4()}",
            task_queue=TEST_QUEUE,
            execution_timeout=timedelta(seconds=60),
        )
    expected = receipt_bytes(print_job.receipt)
    assert out.read_bytes() == expected
    assert first.bytes_sent == len(expected) and first.detail == f"sent to file:{out}"
    assert second.done and second.detail.startswith("already done")
