"""Till shifts: the Shift workflow's id, names and payloads, its activities' payloads, and the
client helpers the API calls.

open with a counted float → cash events (paid in / out, drops, no-sale; sales, change and cash
refunds are read from the till's payments by time window) → blind close with counted tenders →
a variance over the threshold waits for a manager (`contracts.approvals`) → Z report (gap-free
number per till, allocated in the transaction that closes the shift), printed on the till's
printer and stored. After the Z nothing of the shift changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
from contracts.common import SALES_TASK_QUEUE, WorkflowClosed, search_attributes, update_with_start
from contracts.devices import ZReportJob
from contracts.errors import decode
from contracts.fiscal import FiscalScheme
from domain.errors import Conflict

TASK_QUEUE = SALES_TASK_QUEUE  # production: the sales worker in the API process
SHIFT_WORKFLOW = "Shift"
OPEN_UPDATE = "open"  # answers once the float is recorded
CASH_UPDATE = "cash"
CLOSE_UPDATE = "close"
STATUS_QUERY = "status"

ShiftState = Literal["starting", "open", "review", "closed", "failed"]
CashKindIn = Literal["paid_in", "paid_out", "drop", "no_sale"]


def shift_workflow_id(till_code: str, n: int) -> str:
    """`shift:{till}:{n}`."""
    return f"shift:{till_code}:{n}"


@dataclass(frozen=True, kw_only=True)
class ShiftRequest:
    till_code: str
    till_id: int
    location_id: int
    location_code: str
    currency: str
    n: int
    opened_by: int
    float_count: tuple[tuple[int, int], ...]  # (denomination, pieces), validated
    variance_threshold: int  # settings in force when the shift opened
    paid_out_limit: int
    no_sale_approval: bool = True  # the store's approval table: a no-sale needs a manager
    overdue_grace_minutes: int


@dataclass(frozen=True, kw_only=True)
class ShiftView:
    workflow_id: str
    till_code: str
    n: int
    state: ShiftState
    opened_at: datetime
    float_amount: int
    float_difference: int
    closes_at: datetime | None = None
    flagged: bool = False
    events: int = 0
    variance: int | None = None  # known once counted
    z_number: int | None = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class CashIn:
    kind: CashKindIn
    amount: int  # minor units; 0 for no_sale
    reason: str
    by: int
    approved_by: int | None = None  # the manager who vouched (checked by the API)
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class CloseIn:
    cash_count: tuple[tuple[int, int], ...]
    other: tuple[tuple[str, int], ...]  # (tender, total the cashier read off the terminal)
    by: int
    drop_at_close: int = 0  # cash taken to the safe now; the rest is left in the drawer
    # A close a till journaled offline: when its cashier counted (None: counted now, online).
    closed_at: datetime | None = None


# ---- activity payloads ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenCmd:
    workflow_id: str
    request: ShiftRequest
    opened_at: datetime


@dataclass(frozen=True, kw_only=True)
class CashCmd:
    workflow_id: str
    seq: int
    cash: CashIn
    at: datetime


@dataclass(frozen=True, kw_only=True)
class CountCmd:
    workflow_id: str
    close: CloseIn
    at: datetime
    variance_threshold: int


@dataclass(frozen=True, kw_only=True)
class Counted:
    view: ShiftView
    needs_approval: bool


@dataclass(frozen=True, kw_only=True)
class FinishCmd:
    workflow_id: str
    at: datetime
    closed_by: int
    approved_by: int | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Finished:
    view: ShiftView
    job: ZReportJob
    # The location's fiscal signing scheme (issue 20): "none" signs no closing.
    fiscal_scheme: FiscalScheme = "none"


@dataclass(frozen=True, kw_only=True)
class FlagCmd:
    workflow_id: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class PrintedCmd:
    workflow_id: str
    escpos_b64: str
    at: datetime


# ---- client side ------------------------------------------------------------------------------


async def open_shift(
    client: Client, req: ShiftRequest, *, task_queue: str = TASK_QUEUE
) -> ShiftView:
    """Start shift n of the till and wait for its float to be recorded."""
    workflow_id = shift_workflow_id(req.till_code, req.n)
    try:
        return await update_with_start(
            client,
            SHIFT_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=OPEN_UPDATE,
            result_type=ShiftView,
            run_result_type=ShiftView,
            # A shift whose open failed left no row: its number is free to try again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search=search_attributes(store=req.location_code, till=req.till_code),
        )
    except WorkflowClosed:
        raise Conflict(
            f"Shift {req.n} of till {req.till_code} exists already.", code="shift_exists"
        ) from None


def _closed(workflow_id: str) -> Conflict:
    return Conflict(
        f"Shift {workflow_id} is closed (its Z report is final): nothing of it can change.",
        code="shift_closed",
    )


async def _update(
    client: Client, workflow_id: str, update: str, arg: object, rtype: type
) -> object:
    handle = client.get_workflow_handle(workflow_id)
    try:
        out: object = await handle.execute_update(update, arg, result_type=rtype)
        return out
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise _closed(workflow_id) from err
        raise


async def record_cash(client: Client, workflow_id: str, cash: CashIn) -> ShiftView:
    """A paid-in, paid-out, drop or no-sale of the open shift."""
    out = await _update(client, workflow_id, CASH_UPDATE, cash, ShiftView)
    assert isinstance(out, ShiftView)
    return out


async def close_shift(client: Client, workflow_id: str, close: CloseIn) -> ShiftView:
    """The blind count: closed with its Z report, or waiting for a manager (state review)."""
    out = await _update(client, workflow_id, CLOSE_UPDATE, close, ShiftView)
    assert isinstance(out, ShiftView)
    return out


async def approve_shift(client: Client, workflow_id: str, approval: Approval) -> ApprovalAnswer:
    """A manager's decision on a variance: approve closes the shift (Z), reject asks for a
    recount (the shift is open again)."""
    out = await _update(client, workflow_id, APPROVE_UPDATE, approval, ApprovalAnswer)
    assert isinstance(out, ApprovalAnswer)
    return out
