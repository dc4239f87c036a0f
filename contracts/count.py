"""Cycle counts: the Count workflow's id, names and payloads, its activities' payloads, and the
client helpers the API calls.

snapshot (on hand per SKU, the ledger's last movement id) → staff enter counts (nothing frozen;
sales go on) → submit → variances over the threshold wait for a recount or a manager
(`contracts.approvals`) → one set of ledger movements (reason "count"), applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
from contracts.common import (
    CENTRAL_TASK_QUEUE,
    WorkflowClosed,
    search_attributes,
    update_with_start,
)
from contracts.errors import decode
from domain.errors import Conflict

TASK_QUEUE = CENTRAL_TASK_QUEUE
COUNT_WORKFLOW = "Count"
START_UPDATE = "start"  # answers once the snapshot is taken
ENTER_UPDATE = "enter"
SUBMIT_UPDATE = "submit"
CANCEL_UPDATE = "cancel"
STATUS_QUERY = "status"
REASON = "count"  # the ledger reason of a count's corrections

CountState = Literal["counting", "review", "applied", "cancelled", "failed"]


def count_workflow_id(location_code: str, count_id: str) -> str:
    """`count:{location}:{id}`."""
    return f"count:{location_code}:{count_id}"


@dataclass(frozen=True, kw_only=True)
class CountRequest:
    count_id: str
    location_id: int
    location_code: str
    skus: tuple[str, ...]
    created_by: int | None
    max_units: int  # the thresholds in force when the count started (settings)
    max_value: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class CountEntryIn:
    sku: str
    quantity: int
    bin: str = ""


@dataclass(frozen=True, kw_only=True)
class EnterIn:
    entries: tuple[CountEntryIn, ...]
    entered_by: int | None


@dataclass(frozen=True, kw_only=True)
class SubmitIn:
    submitted_by: int | None


@dataclass(frozen=True, kw_only=True)
class CancelCountIn:
    cancelled_by: int | None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CountLineView:
    sku: str
    snapshot_on_hand: int
    counted: int | None
    expected: int | None
    variance: int | None
    round: int
    needs_review: bool
    applied_delta: int | None


@dataclass(frozen=True, kw_only=True)
class CountView:
    count_id: str
    workflow_id: str
    location_code: str
    state: CountState
    lines: tuple[CountLineView, ...]
    review_skus: tuple[str, ...] = ()
    message: str = ""


# ---- activity payloads ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SnapshotCmd:
    workflow_id: str
    request: CountRequest


@dataclass(frozen=True, kw_only=True)
class EnterCmd:
    workflow_id: str
    batch_no: int  # keys the batch's entry rows
    round: int  # 1, or 2 for a recount
    entries: EnterIn
    review_skus: tuple[str, ...] = ()  # flagged by the last submit (shown on the answer)


@dataclass(frozen=True, kw_only=True)
class EvaluateCmd:
    workflow_id: str
    max_units: int
    max_value: int
    review_skus: tuple[str, ...]  # flagged by the previous submit ((): first submit)


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    view: CountView
    review_skus: tuple[str, ...]  # still over the threshold and not confirmed by a recount
    uncounted: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ApplyCmd:
    workflow_id: str
    approved_by: int | None
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class CloseCountCmd:
    workflow_id: str
    reason: str = ""


# ---- client side ------------------------------------------------------------------------------


async def start_count(
    client: Client, req: CountRequest, *, task_queue: str = TASK_QUEUE
) -> CountView:
    """Start the count and wait for its snapshot."""
    workflow_id = count_workflow_id(req.location_code, req.count_id)
    try:
        return await update_with_start(
            client,
            COUNT_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=START_UPDATE,
            result_type=CountView,
            run_result_type=CountView,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search=search_attributes(store=req.location_code),
        )
    except WorkflowClosed:
        raise Conflict(f"Count {req.count_id} exists already.", code="count_exists") from None


async def _update(
    client: Client, workflow_id: str, update: str, arg: object, state: str
) -> CountView:
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg, result_type=CountView)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                f"This count is {state}: nothing more can be done with it.", code="count_closed"
            ) from err
        raise


async def enter_counts(client: Client, workflow_id: str, entry: EnterIn, state: str) -> CountView:
    """Record what staff counted (per bin, the latest entry wins)."""
    return await _update(client, workflow_id, ENTER_UPDATE, entry, state)


async def submit_count(client: Client, workflow_id: str, sub: SubmitIn, state: str) -> CountView:
    """Finish counting: applied at once, or waiting for a recount or a manager."""
    return await _update(client, workflow_id, SUBMIT_UPDATE, sub, state)


async def approve_count(
    client: Client, workflow_id: str, approval: Approval, state: str
) -> ApprovalAnswer:
    """A manager's decision on a count in review (approve applies it, reject cancels it)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(APPROVE_UPDATE, approval, result_type=ApprovalAnswer)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                f"This count is {state}: there is nothing to approve.", code="count_closed"
            ) from err
        raise


async def cancel_count(
    client: Client, workflow_id: str, cancel: CancelCountIn, state: str
) -> CountView:
    """Call the count off; nothing is applied."""
    return await _update(client, workflow_id, CANCEL_UPDATE, cancel, state)
