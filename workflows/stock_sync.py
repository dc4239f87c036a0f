"""Stock out to the web stores: a long-running StockSync (debounced per SKU) and a scheduled full
resync."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.stock_sync import StockSyncActivities
    from contracts.stock_sync import (
        COUNTERS_QUERY,
        STOCK_RESYNC_WORKFLOW,
        STOCK_SYNC_WORKFLOW,
        AckRequest,
        PushRequest,
        PushResult,
        ResyncRequest,
        ResyncResult,
        StockSyncRequest,
        StoreResync,
        WaitRequest,
    )

WAIT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "heartbeat_timeout": timedelta(
        seconds=30
    ),  # generous: a busy machine may starve the poll for a while
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}
# A store answering 429 or 5xx is retried with backoff (a 429's Retry-After sets the next delay);
# after ten minutes its SKUs simply stay queued and come round again.
PUSH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=5),
    "heartbeat_timeout": timedelta(seconds=60),
    "schedule_to_close_timeout": timedelta(minutes=10),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
    ),
}
SHORT: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=10)}
RESYNC: dict[str, Any] = {
    "start_to_close_timeout": timedelta(hours=1),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=5),
}


@workflow.defn(name=STOCK_SYNC_WORKFLOW)
class StockSyncWorkflow:
    """Forever: wait for SKUs quiet for the debounce window, push them to every store,
    acknowledge."""

    def __init__(self) -> None:
        self._rounds = 0
        self._pushed = 0
        self._failed = 0

    @workflow.run
    async def run(self, req: StockSyncRequest) -> None:
        for _ in range(req.rounds_before_new_run):
            due = await workflow.execute_activity_method(
                StockSyncActivities.wait_for_changes,
                WaitRequest(
                    debounce_ms=req.debounce_ms, max_delay_ms=req.max_delay_ms, poll_ms=req.poll_ms
                ),
                **WAIT,
            )
            if not due.entries:
                continue
            self._rounds += 1
            # One activity per store and round: a store that is busy or down holds up only itself.
            results = await asyncio.gather(
                *[
                    self._push(PushRequest(store_code=store, skus=skus))
                    for store, skus in due.pushes
                ]
            )
            failed = {sku for r in results if isinstance(r, tuple) for sku in r}
            self._failed += len(failed)
            self._pushed += sum(r.sent for r in results if isinstance(r, PushResult))
            done = tuple(e for e in due.entries if e[0] not in failed)
            await workflow.execute_activity_method(
                StockSyncActivities.ack, AckRequest(entries=done), **SHORT
            )
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(req)

    async def _push(self, push: PushRequest) -> PushResult | tuple[str, ...]:
        try:
            return await workflow.execute_activity_method(StockSyncActivities.push, push, **PUSH)
        except ActivityError:
            return push.skus  # still queued: pushed again next round

    @workflow.query(name=COUNTERS_QUERY)
    def counters(self) -> dict[str, int]:
        """Rounds run, numbers sent and SKUs left queued since this run started."""
        return {"rounds": self._rounds, "pushed": self._pushed, "failed": self._failed}


@workflow.defn(name=STOCK_RESYNC_WORKFLOW)
class StockResyncWorkflow:
    """Full resync (on a schedule): refresh each store's catalogue mapping and send every number."""

    @workflow.run
    async def run(self, req: ResyncRequest) -> tuple[ResyncResult, ...]:
        stores = await workflow.execute_activity_method(StockSyncActivities.stores, **SHORT)
        results = await asyncio.gather(
            *[
                workflow.execute_activity_method(
                    StockSyncActivities.resync_store,
                    StoreResync(store_code=code, refresh_listings=req.refresh_listings),
                    **RESYNC,
                )
                for code in stores
            ]
        )
        return tuple(results)
