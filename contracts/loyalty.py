"""Loyalty points across the Temporal boundary: the activities' payloads (earn for an order,
reverse for a return, redeem / refund a redemption, adjust, expire), the LoyaltyAdjust and
LoyaltyExpiry workflows, and the daily expiry schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy

from contracts.common import CENTRAL_TASK_QUEUE, upsert_schedule

TASK_QUEUE = CENTRAL_TASK_QUEUE
EXPIRY_WORKFLOW = "LoyaltyExpiry"
EXPIRY_SCHEDULE_ID = "loyalty-expiry"
ADJUST_WORKFLOW = "LoyaltyAdjust"

EARN_ACTIVITY = "loyalty.earn_for_order"
REVERSE_ACTIVITY = "loyalty.reverse_for_return"
REDEEM_ACTIVITY = "loyalty.redeem"
REFUND_REDEEM_ACTIVITY = "loyalty.refund_redeem"
ADJUST_ACTIVITY = "loyalty.adjust"
EXPIRE_ACTIVITY = "loyalty.expire"

PostingStatus = Literal["posted", "already_posted", "no_customer", "nothing"]


def adjust_workflow_id(customer_id: int, key: str) -> str:
    return f"loyalty-adjust:{customer_id}:{key}"


def redeem_key(workflow_id: str, step: str = "loyalty") -> str:
    """The idempotency key of a sale's (or order's) redemption: `{workflow id}:{step}`."""
    return f"{workflow_id}:{step}:redeem"


@dataclass(frozen=True, kw_only=True)
class EarnCmd:
    workflow_id: str  # the Sale / OnlineOrder workflow whose recorded order earns


@dataclass(frozen=True, kw_only=True)
class ReverseCmd:
    workflow_id: str  # the Return workflow whose recorded return takes points back


@dataclass(frozen=True, kw_only=True)
class LoyaltyPosting:
    # One of PostingStatus's values. Typed str: an OnlineOrder (sandboxed) decoding this result
    # could not resolve the module-level Literal alias under postponed annotations.
    status: str
    customer_id: int | None = None
    points: int = 0  # signed: what the entry moved
    balance: int = 0  # the account's balance after it
    tier: str = ""


@dataclass(frozen=True, kw_only=True)
class RedeemCmd:
    customer_id: int
    points: int
    key: str  # redeem_key(workflow id): the compensation refunds by it
    reference: str  # the sale / order workflow id


@dataclass(frozen=True, kw_only=True)
class RefundRedeemCmd:
    key: str  # the key the redemption was posted with


@dataclass(frozen=True, kw_only=True)
class RedeemResult:
    points: int  # points taken (positive)
    value: int  # what they pay for, minor units
    balance: int


@dataclass(frozen=True, kw_only=True)
class AdjustRequest:
    customer_id: int
    points: int  # signed
    reason: str
    actor_user_id: int
    key: str


@dataclass(frozen=True, kw_only=True)
class ExpiryRequest:
    run_at: datetime | None = None  # None: now; later: the workflow waits until then


@dataclass(frozen=True, kw_only=True)
class ExpireCmd:
    now: datetime


@dataclass(frozen=True, kw_only=True)
class ExpiryResult:
    accounts: int
    points: int  # points expired in all


async def adjust(
    client: Client, req: AdjustRequest, *, task_queue: str = TASK_QUEUE
) -> LoyaltyPosting:
    """Post a manager's adjustment through its workflow and wait: the same key posts once."""
    return await client.execute_workflow(
        ADJUST_WORKFLOW,
        req,
        id=adjust_workflow_id(req.customer_id, req.key),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=LoyaltyPosting,
    )


async def start_expiry_schedule(
    client: Client,
    *,
    cron: str = "30 3 * * *",
    timezone: str = "UTC",
    task_queue: str = TASK_QUEUE,
    schedule_id: str = EXPIRY_SCHEDULE_ID,
) -> None:
    """The daily loyalty expiry at `cron` in `timezone`; an existing schedule gets the spec again.
    Call at worker start-up."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            EXPIRY_WORKFLOW, ExpiryRequest(), id=schedule_id, task_queue=task_queue
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await upsert_schedule(client, schedule_id, schedule)
