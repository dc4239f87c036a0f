"""Customer messages (issue 18): MessageDrain (started by its schedule, contracts/messages.py
`start_drain_schedule`) sends the due outbox messages; MessageRetry puts a failed one back and
sends it now; EmailReceipt queues a till sale's receipt for an e-mail address and sends it.
The backoff between attempts of one message lives on its outbox row, not in these histories."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from temporalio.common import RetryPolicy

    from activities.messages import MessageActivities
    from contracts.errors import as_workflow_failure
    from contracts.messages import (
        DRAIN_WORKFLOW,
        RECEIPT_WORKFLOW,
        RETRY_WORKFLOW,
        DeliverCmd,
        Delivered,
        DrainRequest,
        DrainResult,
        ReceiptEmailRequest,
        RequeueCmd,
        RetryRequest,
    )
    from workflows.policies import STEP

# A batch of messages, each bounded by the sender's own timeout; heartbeats between messages.
DRAIN_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=15),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=3),
}
# One message: the staff member (or the till) waits for it.
SEND_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10), maximum_attempts=3),
}


@workflow.defn(name=DRAIN_WORKFLOW)
class MessageDrainWorkflow:
    """Send every due message of the outbox once (the schedule starts the next run)."""

    @workflow.run
    async def run(self, req: DrainRequest) -> DrainResult:
        return await workflow.execute_activity_method(MessageActivities.drain, req, **DRAIN_STEP)


@workflow.defn(name=RETRY_WORKFLOW)
class MessageRetryWorkflow:
    """Staff: a failed or bounced message back to pending (audited), then sent now."""

    @workflow.run
    async def run(self, req: RetryRequest) -> Delivered:
        try:
            await workflow.execute_activity_method(
                MessageActivities.requeue,
                RequeueCmd(message_id=req.message_id, actor_user_id=req.actor_user_id),
                **STEP,
            )
            return await workflow.execute_activity_method(
                MessageActivities.deliver, DeliverCmd(message_id=req.message_id), **SEND_STEP
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None


@workflow.defn(name=RECEIPT_WORKFLOW)
class EmailReceiptWorkflow:
    """The receipt of a recorded till sale, queued in the outbox for an e-mail, then sent now
    (a failure stays in the outbox for the drain's retries and the staff's view)."""

    @workflow.run
    async def run(self, req: ReceiptEmailRequest) -> Delivered:
        try:
            queued = await workflow.execute_activity_method(
                MessageActivities.queue_receipt, req, **STEP
            )
            return await workflow.execute_activity_method(
                MessageActivities.deliver, DeliverCmd(message_id=queued.message_id), **SEND_STEP
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None
