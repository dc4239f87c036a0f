"""Replay a till's offline journal: each entry becomes a Sale child with its client id, applied
exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.replay import ReplayActivities
    from contracts.common import SALES_TASK_QUEUE, search_attributes
    from contracts.errors import failure_message, timed_out
    from contracts.replay import (
        REPLAY_WORKFLOW,
        CardCapture,
        CardCaptured,
        JournalEntry,
        OutcomeRecord,
        ReceivedBatch,
        ReceivedEntry,
        ReplayEntryResult,
        ReplayRequest,
        ReplayResult,
    )
    from contracts.sale import SALE_WORKFLOW, BasketLine, SaleRequest, SaleResult, TenderIn
    from workflows.policies import STEP

# A few sales at a time: in sold_at order, without one slow sale holding up the whole batch.
WINDOW = 8
# A provider outage delays the capture; after an hour the entry is left for the next upload.
CAPTURE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(hours=1),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
}


@workflow.defn(name=REPLAY_WORKFLOW)
class OfflineReplayWorkflow:
    """One uploaded batch of a till's offline journal, replayed as Sale children in the order
    sold."""

    @workflow.run
    async def run(self, req: ReplayRequest) -> ReplayResult:
        batch: ReceivedBatch = await workflow.execute_local_activity_method(
            ReplayActivities.receive, req, **STEP
        )
        received = {r.client_sale_id: r for r in batch.entries}
        # The same client id twice in one batch is one sale.
        entries = sorted(
            {e.client_sale_id: e for e in req.entries}.values(),
            key=lambda e: (e.sold_at, e.client_sale_id),
        )
        results: list[ReplayEntryResult] = []
        for at in range(0, len(entries), WINDOW):
            window = entries[at : at + WINDOW]
            results += await asyncio.gather(
                *(self._entry(req, batch, e, received[e.client_sale_id]) for e in window)
            )
        return ReplayResult(till_code=req.till_code, batch_id=req.batch_id, entries=tuple(results))

    async def _entry(
        self, req: ReplayRequest, batch: ReceivedBatch, entry: JournalEntry, got: ReceivedEntry
    ) -> ReplayEntryResult:
        if got.order_number:
            # Applied by an earlier upload (or by the online attempt that timed out at the till).
            return await self._record(batch, entry, got, "")
        try:
            tenders = await self._tenders(req, batch, entry, got)
        except ActivityError as err:
            # A capture that timed out stays pending for the next upload; anything else is for a
            # manager.
            failure = "" if timed_out(err) else failure_message(err)
            return await self._record(batch, entry, got, failure)
        sale = SaleRequest(
            till_code=req.till_code,
            client_sale_id=entry.client_sale_id,
            cashier_id=got.cashier_id,
            lines=tuple(
                BasketLine(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
                for ln in entry.lines
            ),
            tenders=tenders,
            sold_at=entry.sold_at,
            offline=True,
        )
        failure = ""
        try:
            child = await workflow.start_child_workflow(
                SALE_WORKFLOW,
                sale,
                id=got.workflow_id,
                task_queue=SALES_TASK_QUEUE,
                result_type=SaleResult,
                # A refused sale may be tried again; a completed or running one is never started
                # twice.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                # A sale runs to its end even if this replay is cut off: never half a sale.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                search_attributes=search_attributes(
                    store=batch.location_code,
                    till=req.till_code,
                    channel="store",
                    order=got.workflow_id,
                ),
            )
            result: SaleResult = await child
            if result.status != "completed":
                failure = (
                    "; ".join(getattr(result, "declines", ()) or ())
                    or f"the sale ended {result.status}"
                )
        except WorkflowAlreadyStartedError:
            pass  # another upload (or the till's online attempt) runs or ran it: the database tells
        except ChildWorkflowError as err:
            failure = failure_message(err)
        return await self._record(batch, entry, got, failure)

    async def _tenders(
        self, req: ReplayRequest, batch: ReceivedBatch, entry: JournalEntry, got: ReceivedEntry
    ) -> tuple[TenderIn, ...]:
        """Cash as it was handed over; stored cards captured first, declines turned into collection
        tasks."""
        out = []
        for n, t in enumerate(entry.tenders, start=1):
            if t.kind != "card":
                out.append(TenderIn(kind=t.kind, amount=t.tendered or t.amount))
                continue
            captured: CardCaptured = await workflow.execute_activity_method(
                ReplayActivities.capture_card,
                CardCapture(
                    sale_workflow_id=got.workflow_id,
                    number=n,
                    till_code=req.till_code,
                    till_id=batch.till_id,
                    location_id=batch.location_id,
                    client_sale_id=entry.client_sale_id,
                    amount=t.amount,
                    currency=batch.currency,
                    reference=t.reference,
                    brand=t.brand,
                    last4=t.last4,
                    sold_at=entry.sold_at,
                    lines=entry.lines,
                    total=entry.total,
                ),
                **CAPTURE,
            )
            # Recording a captured (or declined-and-owed) offline card is the payment engineer's
            # part of Sale: the reference tells it the money was settled outside the card reader.
            ref = captured.provider_ref or f"collect:{captured.collection_task_id}"
            out.append(TenderIn(kind="card", amount=t.amount, reference=ref))
        return tuple(out)

    async def _record(
        self, batch: ReceivedBatch, entry: JournalEntry, got: ReceivedEntry, failure: str
    ) -> ReplayEntryResult:
        return await workflow.execute_local_activity_method(
            ReplayActivities.record_outcome,
            OutcomeRecord(
                workflow_id=got.workflow_id,
                client_sale_id=entry.client_sale_id,
                till_id=batch.till_id,
                location_id=batch.location_id,
                sold_at=entry.sold_at,
                failure=failure,
            ),
            **STEP,
        )
