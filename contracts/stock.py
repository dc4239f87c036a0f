"""Stock operations: goods receipts, adjustments (quarantine release and write-off too), offline
variance resolution and the reorder run that drafts purchase orders. Workflow ids, names,
payloads and the client helpers the API and the worker start-up call."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
from contracts.common import (
    CENTRAL_TASK_QUEUE,
    WorkflowClosed,
    search_attributes,
    update_with_start,
)
from contracts.errors import decode
from domain.errors import Conflict, NotFound

TASK_QUEUE = CENTRAL_TASK_QUEUE
GOODS_RECEIPT_WORKFLOW = "GoodsReceipt"
ADJUSTMENT_WORKFLOW = "StockAdjustment"
VARIANCE_WORKFLOW = "ResolveVariance"
REORDER_WORKFLOW = "ReorderDraft"
SUBMIT_UPDATE = "submit"  # an adjustment answers: applied, or waiting for a manager
STATUS_QUERY = "status"
REORDER_SCHEDULE_ID = "stock-reorder"

AdjustmentKind = Literal["adjustment", "quarantine_release", "write_off"]
AdjustmentStatus = Literal["assessing", "awaiting_approval", "applied", "rejected", "failed"]
ReceiptStatus = Literal["completed"]
VarianceResolution = Literal["loss", "count"]
SuggestionSource = Literal["min_max", "velocity"]


def receipt_workflow_id(location: str, receipt_id: str) -> str:
    return f"receipt:{location}:{receipt_id}"


def adjustment_workflow_id(location: str, adjustment_id: str) -> str:
    return f"adjust:{location}:{adjustment_id}"


def variance_workflow_id(location: str, variance_id: int) -> str:
    return f"variance:{location}:{variance_id}"


def reorder_workflow_id(day: str) -> str:
    """`reorder:{YYYY-MM-DD}` for a run started by hand; the schedule's runs carry its time."""
    return f"reorder:{day}"


# ---- goods receipt ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReceiptLineIn:
    sku: str
    quantity: int
    unit_cost: int | None = None  # None: the order line's, else the supplier's, else unknown


@dataclass(frozen=True, kw_only=True)
class ReceiptRequest:
    receipt_id: str
    location_id: int
    location_code: str
    lines: tuple[ReceiptLineIn, ...]
    po_number: str = ""  # "" = a free receipt (no purchase order)
    supplier_code: str = ""  # a free receipt's supplier, optional
    close_short: bool = False  # after this delivery nothing more is expected of the order
    delivery_note: str = ""
    received_by: int | None = None
    cost_method: Literal["weighted_average", "last"] = "weighted_average"


@dataclass(frozen=True, kw_only=True)
class ReceiptLinePlan:
    line_no: int
    sku: str
    quantity: int
    po_line_no: int | None
    expected: int | None  # still outstanding on the order before this delivery
    over: int  # units beyond what was outstanding
    unit_cost: int | None


@dataclass(frozen=True, kw_only=True)
class ReceiptPlan:
    po_id: int | None
    supplier_id: int | None
    currency: str
    lines: tuple[ReceiptLinePlan, ...]


@dataclass(frozen=True, kw_only=True)
class ReceiptCmd:
    workflow_id: str
    run_id: str  # ledger keys carry the run: a failed run's movements never block a retry's
    request: ReceiptRequest
    plan: ReceiptPlan


@dataclass(frozen=True, kw_only=True)
class ReceiptResult:
    receipt_id: str
    workflow_id: str
    status: ReceiptStatus
    po_number: str = ""
    po_status: str = ""


# ---- adjustments, quarantine release and write-off ----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AdjustmentLineIn:
    sku: str
    delta: int  # signed change of sellable stock; quarantine ops: units of quarantine (> 0)


@dataclass(frozen=True, kw_only=True)
class AdjustmentRequest:
    adjustment_id: str
    location_id: int
    location_code: str
    kind: AdjustmentKind
    reason: str  # damage | theft | found | correction; the kind itself for quarantine ops
    lines: tuple[AdjustmentLineIn, ...]
    requested_by: int | None
    threshold_units: int
    threshold_value: int
    approval_timeout_s: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AdjustmentAssessment:
    currency: str
    units: int
    value: int
    approval_reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class AdjustmentCmd:
    workflow_id: str
    run_id: str
    request: AdjustmentRequest


@dataclass(frozen=True, kw_only=True)
class AdjustmentDecision:
    adjustment_id: str
    status: Literal["approved", "applied", "rejected"]
    decided_by: int | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class AdjustmentState:
    adjustment_id: str
    workflow_id: str
    status: AdjustmentStatus
    approval_reasons: tuple[str, ...] = ()
    units: int = 0
    value: int = 0
    currency: str = ""
    message: str = ""


# ---- offline variances --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VarianceRequest:
    variance_id: int
    location_id: int
    resolution: VarianceResolution
    count_id: str = ""
    note: str = ""
    resolved_by: int | None = None


@dataclass(frozen=True, kw_only=True)
class VarianceResult:
    variance_id: int
    resolution: VarianceResolution
    quantity: int  # moved in the ledger (0 when matched to a count)
    value: int


# ---- reorder ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReorderRequest:
    """The settings of a run: the sales window, days of sales to order beyond the reorder point,
    and the lead time of a SKU without a supplier."""

    window_days: int = 28
    cover_days: int = 14
    default_lead_time_days: int = 7
    location_codes: tuple[str, ...] = ()  # () = every active location


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    location_id: int
    location_code: str
    sku: str
    name: str
    supplier_id: int | None
    supplier_code: str
    on_hand: int
    reserved: int
    in_transit: int
    on_order: int
    safety_stock: int
    available: int
    position: int
    reorder_point: int
    order_up_to: int
    source: SuggestionSource
    units_sold: int
    velocity_per_day: float
    lead_time_days: int
    pack_size: int
    unit_cost: int | None
    currency: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class SuggestCmd:
    request: ReorderRequest


@dataclass(frozen=True, kw_only=True)
class DraftLine:
    sku: str
    quantity: int
    unit_cost: int


@dataclass(frozen=True, kw_only=True)
class DraftCmd:
    run: str  # the workflow id: one draft per run, supplier and location
    supplier_id: int
    location_id: int
    currency: str
    lines: tuple[DraftLine, ...]


@dataclass(frozen=True, kw_only=True)
class ReorderResult:
    run: str
    drafted: tuple[str, ...]  # purchase order numbers, all drafts
    without_supplier: tuple[str, ...] = ()  # "LOC:SKU" suggested but with nobody to order from


# ---- client side --------------------------------------------------------------------------------


async def receive_goods(
    client: Client, req: ReceiptRequest, *, task_queue: str = TASK_QUEUE
) -> ReceiptResult:
    """Run the receipt to its end; the same receipt id is one receipt (a running one is joined, a
    failed one may be tried again, a completed one raises `WorkflowClosed`: read what it
    recorded)."""
    workflow_id = receipt_workflow_id(req.location_code, req.receipt_id)
    try:
        return await client.execute_workflow(
            GOODS_RECEIPT_WORKFLOW,
            req,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=search_attributes(store=req.location_code, order=workflow_id),
            result_type=ReceiptResult,
        )
    except WorkflowAlreadyStartedError as err:
        raise WorkflowClosed(workflow_id) from err
    except WorkflowFailureError as err:
        raise decode(err) from None


async def submit_adjustment(
    client: Client, req: AdjustmentRequest, *, task_queue: str = TASK_QUEUE
) -> AdjustmentState:
    """Start the adjustment (or join it) and answer when it applied, was refused, or waits for a
    manager."""
    workflow_id = adjustment_workflow_id(req.location_code, req.adjustment_id)
    try:
        return await update_with_start(
            client,
            ADJUSTMENT_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=SUBMIT_UPDATE,
            result_type=AdjustmentState,
            run_result_type=AdjustmentState,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search=search_attributes(store=req.location_code, order=workflow_id),
        )
    except WorkflowClosed:
        return await adjustment_status(client, req.location_code, req.adjustment_id)


async def adjustment_status(client: Client, location: str, adjustment_id: str) -> AdjustmentState:
    """Where an adjustment is (from its workflow, running or closed)."""
    try:
        return await client.get_workflow_handle(
            adjustment_workflow_id(location, adjustment_id)
        ).query(STATUS_QUERY, result_type=AdjustmentState)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"There is no adjustment {adjustment_id}.") from err
        raise


async def decide_adjustment(
    client: Client, location: str, adjustment_id: str, approval: Approval
) -> ApprovalAnswer:
    """A manager's decision on an adjustment waiting for approval."""
    handle = client.get_workflow_handle(adjustment_workflow_id(location, adjustment_id))
    try:
        return await handle.execute_update(APPROVE_UPDATE, approval, result_type=ApprovalAnswer)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise Conflict(
                f"Adjustment {adjustment_id} is not waiting for approval any more.",
                code="not_awaiting_approval",
            ) from err
        raise


async def resolve_variance(
    client: Client, req: VarianceRequest, *, location_code: str, task_queue: str = TASK_QUEUE
) -> VarianceResult:
    """Resolve an offline stock variance once (a second resolution is a 409)."""
    workflow_id = variance_workflow_id(location_code, req.variance_id)
    try:
        return await client.execute_workflow(
            VARIANCE_WORKFLOW,
            req,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=search_attributes(store=location_code, order=workflow_id),
            result_type=VarianceResult,
        )
    except WorkflowAlreadyStartedError as err:
        raise Conflict(
            f"Variance {req.variance_id} is resolved already.", code="variance_resolved"
        ) from err
    except WorkflowFailureError as err:
        raise decode(err) from None


async def run_reorder(
    client: Client, req: ReorderRequest, *, workflow_id: str, task_queue: str = TASK_QUEUE
) -> ReorderResult:
    """Run the reorder drafting now (what the schedule does), under this id."""
    try:
        return await client.execute_workflow(
            REORDER_WORKFLOW,
            req,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            result_type=ReorderResult,
        )
    except WorkflowFailureError as err:
        raise decode(err) from None


async def start_reorder_schedule(
    client: Client,
    req: ReorderRequest,
    *,
    cron: str = "0 5 * * *",
    task_queue: str = TASK_QUEUE,
    schedule_id: str = REORDER_SCHEDULE_ID,
) -> None:
    """The schedule that drafts purchase orders from the reorder suggestions (never sends them);
    created once, an existing one is kept. Call at worker start-up."""
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    REORDER_WORKFLOW, req, id=schedule_id, task_queue=task_queue
                ),
                spec=ScheduleSpec(cron_expressions=[cron]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )
