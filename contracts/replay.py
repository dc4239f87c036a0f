"""The OfflineReplay workflow: a till's journal in, what became of each entry out; its activities'
payloads."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import SALES_TASK_QUEUE, search_attributes
from contracts.errors import decode
from contracts.sale import ABANDON_UPDATE, STATUS_QUERY, SaleResult, SaleStatus

EntryOutcome = Literal["applied", "flagged", "pending"]
# What became of an earlier run under a sale's id: none ran; it still runs; it recorded the sale;
# it ended without one (abandoned, failed, terminated, timed out).
AttemptState = Literal["none", "running", "completed", "ended"]
TASK_QUEUE = SALES_TASK_QUEUE
REPLAY_WORKFLOW = "OfflineReplay"
# Entries of a batch replayed at once: in sold_at order, without one slow sale holding up the
# whole batch (TILLFLOW_OFFLINE_REPLAY_WINDOW; issue 21).
REPLAY_WINDOW = 8


def replay_workflow_id(till_code: str, batch_id: str) -> str:
    return f"replay:{till_code}:{batch_id}"


def replacement_workflow_id(sale_workflow_id: str) -> str:
    """The id an offline entry is applied under when an earlier attempt under its own id ended
    without a sale: its own (fresh idempotency keys for stock and tenders), linked to the first by
    its prefix. A client sale id never holds '~', so no till sale can ever take it."""
    return f"{sale_workflow_id}~offline"


@dataclass(frozen=True, kw_only=True)
class JournalLine:
    sku: str
    quantity: int
    # What the till charged, from its snapshot: checked against the catalogue's history, never
    # charged as is (the sale is priced as of sold_at).
    unit_price: int


@dataclass(frozen=True, kw_only=True)
class JournalTender:
    kind: Literal["cash", "card"]  # gift cards and store credit are never taken offline
    amount: int  # applied to the sale
    tendered: int = 0  # cash handed over
    # Card only, from the terminal: its token for the stored payment, brand, last four digits.
    reference: str = ""
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True, kw_only=True)
class JournalEntry:
    client_sale_id: str
    sold_at: datetime
    cashier: str  # username of who rang it up
    lines: tuple[JournalLine, ...]
    tenders: tuple[JournalTender, ...]
    total: int
    change_due: int = 0
    customer_id: int | None = None  # the customer the till attached (earns at replay)


# An online attempt of an entry's sale that is still running (a card at the reader, say) is waited
# for this long; then the entry is flagged for a manager rather than left pending.
RUNNING_WAIT_S = 15 * 60


# A journal entry of this kind is a blind shift close the till took while offline (not a sale).
SHIFT_CLOSE_ENTRY = "shift_close"
# Runs where the Shift workflow's activities run (`ReplayRequest.shift_task_queue`).
CLOSE_SHIFT_ACTIVITY = "replay.close_shift"


@dataclass(frozen=True, kw_only=True)
class OfflineShiftClose:
    """A blind close journaled by a till while it was offline: applied after the shift's offline
    sales, as the Shift workflow's close update."""

    client_id: str  # the till's id of the journal entry
    n: int  # the shift number the till last knew; 0: the till's shift open at the central side
    closed_at: datetime  # when the cashier counted, by the till's clock
    cashier: str  # username of who counted
    cash_count: tuple[tuple[int, int], ...]  # (denomination, pieces)
    other: tuple[tuple[str, int], ...]  # (tender, total read off the terminal)
    drop_at_close: int = 0


@dataclass(frozen=True, kw_only=True)
class ReplayRequest:
    till_code: str
    batch_id: str
    uploaded_by: int  # user id of who uploaded it; never stands in for an entry's cashier
    entries: tuple[JournalEntry, ...]
    running_wait_s: int = RUNNING_WAIT_S
    # The offline window's tolerances (TILLFLOW_TILL_CLOCK_SKEW_SECONDS, _OFFLINE_MAX_AGE_HOURS).
    clock_skew_s: int = 120
    max_age_s: int = 24 * 3600
    # Shift closes journaled offline (each after the sales sold before it) and where they run.
    shift_closes: tuple[OfflineShiftClose, ...] = ()
    shift_task_queue: str = SALES_TASK_QUEUE
    # Issue 21: where the replayed Sales run (the replay's own queue, TILLFLOW_OFFLINE_REPLAY_*,
    # keeps them from queueing in front of live sales) and how many at once. The defaults are
    # what a batch did before, so earlier histories replay unchanged.
    sale_task_queue: str = SALES_TASK_QUEUE
    window: int = REPLAY_WINDOW


@dataclass(frozen=True, kw_only=True)
class ReplayEntryResult:
    client_sale_id: str
    status: EntryOutcome  # applied | flagged (kept for a manager) | pending (try again later)
    sale_id: str = ""  # order number once applied
    message: str = ""
    variances: int = 0  # lines flagged short


@dataclass(frozen=True, kw_only=True)
class ReplayResult:
    till_code: str
    batch_id: str
    entries: tuple[ReplayEntryResult, ...]


CAPTURE_UNAVAILABLE = "OfflineCaptureUnavailable"


@dataclass(frozen=True, kw_only=True)
class ReceivedEntry:
    client_sale_id: str
    workflow_id: str
    cashier_id: int  # who rang it up, checked (0: nobody the central system can vouch for)
    order_number: str  # "" until applied
    # Why the entry is kept for a manager and never applied (its time, cashier, prices, tenders
    # or card limits do not hold up); "" when it may be applied.
    flagged: str = ""


@dataclass(frozen=True, kw_only=True)
class ReceivedBatch:
    till_id: int
    location_id: int
    location_code: str
    currency: str
    entries: tuple[ReceivedEntry, ...]


@dataclass(frozen=True, kw_only=True)
class CardCapture:
    sale_workflow_id: str
    number: int  # position of the tender in the sale: part of the idempotency key
    till_code: str
    till_id: int
    location_id: int
    client_sale_id: str
    amount: int
    currency: str
    reference: str
    brand: str
    last4: str
    sold_at: datetime
    lines: tuple[JournalLine, ...]
    total: int
    # Only check that the provider's payment is this sale's (every card of an entry is checked
    # before any is captured); nothing is captured.
    verify_only: bool = False


@dataclass(frozen=True, kw_only=True)
class CardCaptured:
    approved: bool
    provider_ref: str = ""
    collection_task_id: int = 0  # set when declined


@dataclass(frozen=True, kw_only=True)
class AttemptCheck:
    workflow_id: str  # a sale id the entry may be applied under


@dataclass(frozen=True, kw_only=True)
class AttemptFound:
    state: AttemptState
    detail: str = ""  # how it ended, or the step it is at


@dataclass(frozen=True, kw_only=True)
class OutcomeRecord:
    workflow_id: str
    client_sale_id: str
    till_id: int
    location_id: int
    sold_at: datetime
    failure: str = ""  # why the sale could not be applied; "" = applied or still running elsewhere


@dataclass(frozen=True, kw_only=True)
class ShiftCloseCmd:
    till_code: str
    batch_id: str
    close: OfflineShiftClose
    clock_skew_s: int
    max_age_s: int


def offline_close_key(till_code: str, client_id: str) -> str:
    """The key a journaled shift close is kept under centrally (once per till and entry)."""
    return f"offline-close:{till_code}:{client_id}"


# ---- client side ------------------------------------------------------------------------------

_QUERY_TIMEOUT = timedelta(seconds=3)
_ABANDON_TIMEOUT = timedelta(seconds=20)


async def sale_attempt(client: Client, workflow_id: str) -> AttemptFound:
    """What the latest run of the Sale under this id is doing, from Temporal (the database tells
    whether it recorded a sale; ask it first).

    A run left `open` for more tenders is abandoned here (its authorizations voided, its stock
    restored): the till sold the same sale offline meanwhile, so nobody finishes it online."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return AttemptFound(state="none")
        raise
    if desc.status != WorkflowExecutionStatus.RUNNING:
        # COMPLETED without a recorded sale is an abandoned one.
        how = "abandoned" if desc.status == WorkflowExecutionStatus.COMPLETED else None
        return AttemptFound(
            state="ended", detail=how or (desc.status.name if desc.status else "").lower()
        )
    try:
        status = await handle.query(
            STATUS_QUERY, result_type=SaleStatus, rpc_timeout=_QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError):
        return AttemptFound(state="running", detail="no worker answered")
    if status.step != "open":
        return AttemptFound(state="running", detail=status.step)
    try:
        result = await handle.execute_update(
            ABANDON_UPDATE, result_type=SaleResult, rpc_timeout=_ABANDON_TIMEOUT
        )
    except (RPCError, WorkflowUpdateFailedError):
        return AttemptFound(state="running", detail="no longer open")  # it moved on: look again
    if result.status == "abandoned":
        return AttemptFound(state="ended", detail="open online; abandoned for the offline sale")
    return AttemptFound(state="running", detail=result.status)


async def replay_journal(
    client: Client,
    req: ReplayRequest,
    *,
    store: str,
    wait_s: float,
    task_queue: str = TASK_QUEUE,
) -> ReplayResult | None:
    """Start (or join) the replay of one uploaded batch; its result if it ends within `wait_s`.

    Id policy: a batch sent again while its replay runs joins it; sent after, it replays
    harmlessly (every entry is a Sale with its client id, applied once)."""
    workflow_id = replay_workflow_id(req.till_code, req.batch_id)
    handle = await client.start_workflow(
        REPLAY_WORKFLOW,
        req,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes=search_attributes(
            store=store, till=req.till_code, channel="store", order=workflow_id
        ),
        result_type=ReplayResult,
    )
    if wait_s <= 0:
        return None
    try:
        return await asyncio.wait_for(handle.result(), timeout=wait_s)
    except TimeoutError:
        return None
    except WorkflowFailureError as err:
        raise decode(err) from None
