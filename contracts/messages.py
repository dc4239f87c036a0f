"""Customer messages across the Temporal boundary (issue 18): the MessageDrain workflow its
schedule starts every few seconds, MessageRetry (staff send a failed message again) and
EmailReceipt (a till sale's receipt to the customer's e-mail), their activities' payloads, what a
sender answers, and the start helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.common import CENTRAL_TASK_QUEUE, upsert_schedule

TASK_QUEUE = CENTRAL_TASK_QUEUE
DRAIN_WORKFLOW = "MessageDrain"
RETRY_WORKFLOW = "MessageRetry"
RECEIPT_WORKFLOW = "EmailReceipt"
DRAIN_SCHEDULE_ID = "message-drain"

DRAIN_ACTIVITY = "messages.drain"
DELIVER_ACTIVITY = "messages.deliver"
REQUEUE_ACTIVITY = "messages.requeue"
QUEUE_RECEIPT_ACTIVITY = "messages.queue_receipt"

MessageStatus = Literal["pending", "sending", "sent", "failed", "bounced", "skipped"]
# sent: the server / provider took it; retry: try again later (4xx, timeouts, refused
# connections); bounced: the recipient was refused for good; failed: refused for good otherwise.
Outcome = Literal["sent", "retry", "bounced", "failed"]


def retry_workflow_id(message_id: int, key: str) -> str:
    return f"message-retry:{message_id}:{key}"


def receipt_workflow_id(sale_workflow_id: str, key: str) -> str:
    return f"email-receipt:{sale_workflow_id}:{key}"


@dataclass(frozen=True, kw_only=True)
class SendOutcome:
    """A sender's answer for one message."""

    outcome: Outcome
    provider_id: str = ""  # the SMTP Message-ID, or the SMS provider's message id
    error: str = ""  # the server's or provider's own words (no message body)


@dataclass(frozen=True, kw_only=True)
class DrainRequest:
    limit: int = 0  # 0: the configured batch size


@dataclass(frozen=True, kw_only=True)
class DrainResult:
    sent: int = 0
    retrying: int = 0  # back to pending, with a later next attempt
    failed: int = 0
    bounced: int = 0
    interrupted: int = 0  # found "sending" past its lease: marked failed, never sent again
    expired: int = 0  # pending past the maximum age: marked failed


@dataclass(frozen=True, kw_only=True)
class DeliverCmd:
    message_id: int


@dataclass(frozen=True, kw_only=True)
class Delivered:
    message_id: int
    status: MessageStatus
    attempts: int
    last_error: str = ""


@dataclass(frozen=True, kw_only=True)
class RequeueCmd:
    message_id: int
    actor_user_id: int


@dataclass(frozen=True, kw_only=True)
class RetryRequest:
    message_id: int
    actor_user_id: int


@dataclass(frozen=True, kw_only=True)
class ReceiptEmailRequest:
    sale_workflow_id: str  # the Sale whose recorded order is the receipt
    email: str
    actor_user_id: int
    key: str  # one message per (sale, key): the Idempotency-Key of the request


@dataclass(frozen=True, kw_only=True)
class ReceiptQueued:
    message_id: int
    fresh: bool  # False: this key had queued it before


@dataclass(frozen=True, kw_only=True)
class MessageConfig:
    """The drain's rules (from the settings)."""

    max_attempts: int = 8
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 3600.0
    batch_size: int = 50
    claim_lease_s: float = 300.0
    max_age_hours: int = 72
    # Only these stores' messages (empty: every store's): a drain per region with its own relay,
    # or a test that must not send the rest of a shared database's outbox.
    stores: tuple[str, ...] = ()


async def start_drain_schedule(
    client: Client,
    *,
    every: timedelta = timedelta(seconds=15),
    task_queue: str = TASK_QUEUE,
    schedule_id: str = DRAIN_SCHEDULE_ID,
) -> None:
    """The outbox drain every `every` (one at a time: a run still sending makes the next skip);
    an existing schedule gets the spec again. Call at worker start-up."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            DRAIN_WORKFLOW,
            DrainRequest(),
            id=schedule_id,
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=30),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await upsert_schedule(client, schedule_id, schedule)


async def drain_now(
    client: Client, *, task_queue: str = TASK_QUEUE, workflow_id: str, limit: int = 0
) -> DrainResult:
    """Run one drain and wait for it (tests, `tillflow` commands)."""
    return await client.execute_workflow(
        DRAIN_WORKFLOW,
        DrainRequest(limit=limit),
        id=workflow_id,
        task_queue=task_queue,
        result_type=DrainResult,
    )


async def retry_message(
    client: Client, req: RetryRequest, key: str, *, task_queue: str = TASK_QUEUE
) -> Delivered:
    """Put a failed or bounced message back to pending and send it now; once per key."""
    return await _once(
        client, RETRY_WORKFLOW, req, retry_workflow_id(req.message_id, key), task_queue
    )


async def email_receipt(
    client: Client, req: ReceiptEmailRequest, *, task_queue: str = TASK_QUEUE
) -> Delivered:
    """Queue the receipt of a recorded sale for `req.email` and send it; once per key."""
    workflow_id = receipt_workflow_id(req.sale_workflow_id, req.key)
    return await _once(client, RECEIPT_WORKFLOW, req, workflow_id, task_queue)


async def _once(
    client: Client, workflow: str, arg: object, workflow_id: str, task_queue: str
) -> Delivered:
    """Run the workflow once per id: a running one is joined, a completed one answers again."""
    try:
        return await client.execute_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            result_type=Delivered,
        )
    except WorkflowAlreadyStartedError:
        return await client.get_workflow_handle(workflow_id, result_type=Delivered).result()
