"""Pushing available stock to the web stores (StockSync, StockResync): ids, names, payloads."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.common import WEB_TASK_QUEUE

TASK_QUEUE = WEB_TASK_QUEUE
STOCK_SYNC_WORKFLOW = "StockSync"
STOCK_RESYNC_WORKFLOW = "StockResync"
COUNTERS_QUERY = "counters"
STOCK_SYNC_WORKFLOW_ID = "stocksync"  # one for the whole retailer; it continues as new
RESYNC_SCHEDULE_ID = "stock-resync"


@dataclass(frozen=True, kw_only=True)
class StockSyncRequest:
    debounce_ms: int = 500
    max_delay_ms: int = 5000
    poll_ms: int = 200
    rounds_before_new_run: int = 200


@dataclass(frozen=True, kw_only=True)
class ResyncRequest:
    refresh_listings: bool = True


@dataclass(frozen=True, kw_only=True)
class WaitRequest:
    debounce_ms: int
    max_delay_ms: int
    poll_ms: int
    wait_s: float = 20.0


@dataclass(frozen=True, kw_only=True)
class DueSkus:
    entries: tuple[tuple[str, int], ...]  # (sku, version)
    pushes: tuple[tuple[str, tuple[str, ...]], ...]  # (store, its listed SKUs among them)


@dataclass(frozen=True, kw_only=True)
class PushRequest:
    store_code: str
    skus: tuple[str, ...]
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class PushResult:
    store_code: str
    sent: int  # numbers sent (unchanged ones are not sent again)
    refused: tuple[str, ...] = ()  # the store said no (4xx); recorded on the listing


@dataclass(frozen=True, kw_only=True)
class AckRequest:
    entries: tuple[tuple[str, int], ...]


@dataclass(frozen=True, kw_only=True)
class StoreResync:
    store_code: str
    refresh_listings: bool = True


@dataclass(frozen=True, kw_only=True)
class ResyncResult:
    store_code: str
    listed: int
    sent: int
    errors: tuple[str, ...] = ()


# ---- client side ------------------------------------------------------------------------------


async def start_stock_sync(
    client: Client, req: StockSyncRequest, *, resync_every: timedelta, task_queue: str = TASK_QUEUE
) -> None:
    """The long-running StockSync (once: a running one is kept) and the full-resync schedule
    (once)."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            STOCK_SYNC_WORKFLOW,
            req,
            id=STOCK_SYNC_WORKFLOW_ID,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(
            RESYNC_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    STOCK_RESYNC_WORKFLOW,
                    ResyncRequest(),
                    id=RESYNC_SCHEDULE_ID,
                    task_queue=task_queue,
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=resync_every)]),
                policy=SchedulePolicy(),
            ),
        )
