"""The OfflineReplay workflow: a till's journal in, what became of each entry out; its activities'
payloads."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from contracts.common import SALES_TASK_QUEUE, search_attributes
from contracts.errors import decode

EntryOutcome = Literal["applied", "flagged", "pending"]
TASK_QUEUE = SALES_TASK_QUEUE
REPLAY_WORKFLOW = "OfflineReplay"


def replay_workflow_id(till_code: str, batch_id: str) -> str:
    return f"replay:{till_code}:{batch_id}"


@dataclass(frozen=True, kw_only=True)
class JournalLine:
    sku: str
    quantity: int
    unit_price: int  # what the till charged, from its snapshot


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


@dataclass(frozen=True, kw_only=True)
class ReplayRequest:
    till_code: str
    batch_id: str
    uploaded_by: int  # user id; stands in for a cashier the central system does not know
    entries: tuple[JournalEntry, ...]


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
    cashier_id: int
    order_number: str  # "" until applied


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


@dataclass(frozen=True, kw_only=True)
class CardCaptured:
    approved: bool
    provider_ref: str = ""
    collection_task_id: int = 0  # set when declined


@dataclass(frozen=True, kw_only=True)
class OutcomeRecord:
    workflow_id: str
    client_sale_id: str
    till_id: int
    location_id: int
    sold_at: datetime
    failure: str = ""  # why the sale could not be applied; "" = applied or still running elsewhere


# ---- client side ------------------------------------------------------------------------------


async def replay_journal(
    client: Client, req: ReplayRequest, *, store: str, wait_s: float
) -> ReplayResult | None:
    """Start (or join) the replay of one uploaded batch; its result if it ends within `wait_s`.

    Id policy: a batch sent again while its replay runs joins it; sent after, it replays
    harmlessly (every entry is a Sale with its client id, applied once)."""
    workflow_id = replay_workflow_id(req.till_code, req.batch_id)
    handle = await client.start_workflow(
        REPLAY_WORKFLOW,
        req,
        id=workflow_id,
        task_queue=TASK_QUEUE,
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
