"""Reprint a receipt on the till's device queue, on request of a cashier."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.receipts import ReceiptActivities
    from contracts.devices import (
        PRINT_RECEIPT_ACTIVITY,
        REPRINT_WORKFLOW,
        DeviceResult,
        PrintJob,
        ReceiptRequest,
        ReprintRequest,
        device_task_queue,
    )
    from workflows.policies import DEVICE, STEP


@workflow.defn(name=REPRINT_WORKFLOW)
class ReprintWorkflow:
    """Build the receipt from the recorded order and print it marked as a reprint."""

    @workflow.run
    async def run(self, req: ReprintRequest) -> DeviceResult:
        receipt = await workflow.execute_local_activity_method(
            ReceiptActivities.build,
            ReceiptRequest(order_number=req.order_number, reprint=True),
            **STEP,
        )
        return await workflow.execute_activity(
            PRINT_RECEIPT_ACTIVITY,
            PrintJob(job_id=workflow.info().workflow_id, receipt=receipt),
            task_queue=device_task_queue(req.till_code),
            result_type=DeviceResult,
            **DEVICE,
        )
