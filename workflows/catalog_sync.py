"""CatalogSync (one per web store, `catalogsync:{webstore}`): forever, wait for the catalogue
outbox to be quiet (debounce, or a maximum delay), apply the store's product webhooks, push the
changed products, and run a full resync when asked; continues as new."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.catalog_sync import CatalogSyncActivities
    from contracts.catalog import (
        CATALOG_SYNC_WORKFLOW,
        CHANGED_SIGNAL,
        RESYNC_SIGNAL,
        STATUS_QUERY,
        CatalogChanged,
        CatalogDue,
        CatalogSyncRequest,
        CatalogSyncStatus,
        CatalogWait,
        InboundRequest,
        PushCatalog,
        ResyncAsked,
        ResyncRequest,
    )

WAIT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=120),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
    "cancellation_type": ActivityCancellationType.TRY_CANCEL,
}
# A store answering 429 / 5xx is retried with backoff (a Retry-After or Shopify's throttle sets the
# next delay); after fifteen minutes the round gives up and the cursor, not moved, brings the same
# products round again.
PUSH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=10),
    "heartbeat_timeout": timedelta(seconds=60),
    "schedule_to_close_timeout": timedelta(minutes=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
    ),
}
INBOUND: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=2),
    "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
RESYNC: dict[str, Any] = {
    "start_to_close_timeout": timedelta(hours=2),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=20,
    ),
}


@workflow.defn(name=CATALOG_SYNC_WORKFLOW)
class CatalogSyncWorkflow:
    """One web store's catalogue: tillflow's changes out, the store's own edits in."""

    def __init__(self) -> None:
        self._resync = False
        self._resync_products: set[str] | None = None  # None: everything
        self._nudged = False
        self._status = CatalogSyncStatus(store_code="")

    @workflow.run
    async def run(self, req: CatalogSyncRequest) -> None:
        self._status = replace(self._status, store_code=req.store_code)
        if req.resync:
            self._ask_resync(req.resync_products)
        for _ in range(req.rounds_before_new_run):
            if self._resync:
                products = tuple(sorted(self._resync_products or ()))
                self._resync, self._resync_products = False, None
                await self._full_resync(req.store_code, products)
                continue
            due = await self._wait(req)
            if due is None:
                continue
            if not due.connected:
                return  # disconnected: a reconnection starts a new run
            self._status = replace(self._status, rounds=self._status.rounds + 1)
            if due.inbound:
                await self._inbound(req.store_code)
            if due.changes or due.scheduled:
                await self._push(req.store_code, due)
            if workflow.info().is_continue_as_new_suggested():
                break
        workflow.continue_as_new(
            replace(
                req,
                resync=self._resync,
                resync_products=tuple(sorted(self._resync_products or ())),
            )
        )

    async def _wait(self, req: CatalogSyncRequest) -> CatalogDue | None:
        """The next due work; None when a signal cut the wait short (look again at once)."""
        self._nudged = False
        handle = workflow.start_activity_method(
            CatalogSyncActivities.wait_for_changes,
            CatalogWait(
                store_code=req.store_code,
                debounce_ms=req.debounce_ms,
                max_delay_ms=req.max_delay_ms,
                poll_ms=req.poll_ms,
                wait_s=req.wait_s,
            ),
            **WAIT,
        )
        await workflow.wait_condition(lambda: handle.done() or self._resync or self._nudged)
        if not handle.done():
            handle.cancel()
        try:
            return await handle
        except (ActivityError, asyncio.CancelledError):
            return None

    async def _inbound(self, store_code: str) -> None:
        try:
            result = await workflow.execute_activity_method(
                CatalogSyncActivities.apply_inbound,
                InboundRequest(store_code=store_code),
                **INBOUND,
            )
        except ActivityError as err:
            self._status = replace(self._status, last_error=str(err.cause or err)[:500])
            return
        self._status = replace(
            self._status,
            applied=self._status.applied + result.applied,
            conflicts=self._status.conflicts + result.conflicts,
        )

    async def _push(self, store_code: str, due: CatalogDue) -> None:
        try:
            result = await workflow.execute_activity_method(
                CatalogSyncActivities.push,
                PushCatalog(
                    store_code=store_code,
                    upto_change_id=due.upto_change_id,
                    scheduled=due.scheduled,
                    prices_checked_at=due.prices_checked_at,
                ),
                **PUSH,
            )
        except ActivityError as err:
            self._status = replace(self._status, last_error=str(err.cause or err)[:500])
            return
        self._status = replace(
            self._status,
            pushed=self._status.pushed + result.pushed,
            archived=self._status.archived + result.archived,
            refused=self._status.refused + len(result.refused),
            last_error="",
        )

    async def _full_resync(self, store_code: str, products: tuple[str, ...]) -> None:
        try:
            result = await workflow.execute_activity_method(
                CatalogSyncActivities.resync,
                ResyncRequest(store_code=store_code, products=products),
                **RESYNC,
            )
        except ActivityError as err:
            self._status = replace(self._status, last_error=str(err.cause or err)[:500])
            return
        self._status = replace(
            self._status,
            resyncs=self._status.resyncs + 1,
            pushed=self._status.pushed + result.pushed,
            refused=self._status.refused + len(result.refused),
        )

    @workflow.signal(name=CHANGED_SIGNAL)
    def changed(self, _: CatalogChanged) -> None:
        """Something changed: look at the outbox and the inbox again now."""
        self._nudged = True

    @workflow.signal(name=RESYNC_SIGNAL)
    def resync(self, asked: ResyncAsked) -> None:
        """Run a resync next (of everything, or of the products asked for)."""
        self._ask_resync(asked.products)

    def _ask_resync(self, products: tuple[str, ...]) -> None:
        # Asks add up: one for everything wins over one for some products.
        if not products:
            self._resync_products = None
        elif not self._resync or self._resync_products is not None:
            self._resync_products = (self._resync_products or set()) | set(products)
        self._resync = True

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CatalogSyncStatus:
        """Rounds, products pushed / archived / refused, webhook fields applied and conflicts, in
        this run."""
        return self._status
