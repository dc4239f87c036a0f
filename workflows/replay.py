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
    from contracts.common import search_attributes
    from contracts.errors import failure_message, timed_out
    from contracts.fiscal import FISCAL_SIGN_PATCH
    from contracts.replay import (
        CLOSE_SHIFT_ACTIVITY,
        REPLAY_WORKFLOW,
        AttemptCheck,
        AttemptFound,
        CardCapture,
        CardCaptured,
        JournalEntry,
        JournalTender,
        OfflineShiftClose,
        OutcomeRecord,
        ReceivedBatch,
        ReceivedEntry,
        ReplayEntryResult,
        ReplayRequest,
        ReplayResult,
        ShiftCloseCmd,
        replacement_workflow_id,
    )
    from contracts.sale import SALE_WORKFLOW, BasketLine, SaleRequest, SaleResult, TenderIn
    from workflows.fiscal_steps import complete_pending
    from workflows.policies import STEP

# A provider outage delays the capture; after an hour the entry is left for the next upload.
CAPTURE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(hours=1),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1)),
}
# Looking at an earlier run under a sale id (and abandoning it when it waits open online).
ATTEMPT: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=40),
    "schedule_to_close_timeout": timedelta(minutes=2),
}
# A shift close waits for its Shift worker for a while; then it is left for the next upload.
CLOSE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "schedule_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=10)),
}
# A sale id taken between the look and the start is looked at again, this many times at most.
ROUNDS = 3
# Before it, an offline sale never named its customer; since, the Sale gets the customer the till
# attached (who earns its points).
OFFLINE_CUSTOMER_PATCH = "replay-offline-customer"


@workflow.defn(name=REPLAY_WORKFLOW)
class OfflineReplayWorkflow:
    """One uploaded batch of a till's offline journal, replayed as Sale children in the order
    sold."""

    def __init__(self) -> None:
        self._fiscal_pending = False  # issue 20: a sale of the batch waits for its signature

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
        # A shift closed offline closes after the sales sold before it (they belong to it) and
        # before the ones sold after it; never while one of its sales is still pending.
        for close in sorted(req.shift_closes, key=lambda c: (c.closed_at, c.client_id)):
            before = [e for e in entries if e.sold_at <= close.closed_at]
            entries = entries[len(before) :]
            results += await self._sales(req, batch, received, before)
            await self._sign_pending(batch)  # the shift's sales signed before its closing
            results.append(
                await self._close_shift(req, close, any(r.status == "pending" for r in results))
            )
        results += await self._sales(req, batch, received, entries)
        await self._sign_pending(batch)
        return ReplayResult(till_code=req.till_code, batch_id=req.batch_id, entries=tuple(results))

    async def _sales(
        self,
        req: ReplayRequest,
        batch: ReceivedBatch,
        received: dict[str, ReceivedEntry],
        entries: list[JournalEntry],
    ) -> list[ReplayEntryResult]:
        results: list[ReplayEntryResult] = []
        size = max(1, req.window)  # TILLFLOW_OFFLINE_REPLAY_WINDOW (issue 21)
        for at in range(0, len(entries), size):
            window = entries[at : at + size]
            results += await asyncio.gather(
                *(self._entry(req, batch, e, received[e.client_sale_id]) for e in window)
            )
        return results

    async def _sign_pending(self, batch: ReceivedBatch) -> None:
        """Issue 20: the sales this batch recorded pending (a fiscal location) signed now, all of
        them in sold-at order, after they all ran (they run a few at a time, in any order)."""
        if self._fiscal_pending and workflow.patched(FISCAL_SIGN_PATCH):
            self._fiscal_pending = False
            await complete_pending(batch.location_code)

    async def _close_shift(
        self, req: ReplayRequest, close: OfflineShiftClose, sales_pending: bool
    ) -> ReplayEntryResult:
        """The blind close as the Shift workflow's close update, run where the Shift's activities
        run; pending (sent again by the till) while its sales are, or when it cannot run yet."""
        if sales_pending:
            return ReplayEntryResult(
                client_sale_id=close.client_id,
                status="pending",
                message="waits until the shift's offline sales are applied",
            )
        try:
            result: ReplayEntryResult = await workflow.execute_activity(
                CLOSE_SHIFT_ACTIVITY,
                ShiftCloseCmd(
                    till_code=req.till_code,
                    batch_id=req.batch_id,
                    close=close,
                    clock_skew_s=req.clock_skew_s,
                    max_age_s=req.max_age_s,
                ),
                task_queue=req.shift_task_queue,
                result_type=ReplayEntryResult,
                **CLOSE,
            )
        except ActivityError as err:
            return ReplayEntryResult(
                client_sale_id=close.client_id,
                status="pending",
                message=f"not closed yet: {failure_message(err)}",
            )
        return result

    async def _entry(
        self, req: ReplayRequest, batch: ReceivedBatch, entry: JournalEntry, got: ReceivedEntry
    ) -> ReplayEntryResult:
        if got.order_number:
            # Applied by an earlier upload (or by the online attempt that timed out at the till).
            return await self._record(batch, entry, got, "")
        if got.flagged:
            # Its time, cashier, prices, tenders or card limits do not hold up on the server's own
            # records: kept for a manager, never applied, no card captured for it.
            return await self._record(batch, entry, got, got.flagged)
        for _ in range(ROUNDS):
            try:
                sale_id, why = await self._sale_id(req, got)
            except ActivityError:
                return await self._record(batch, entry, got, "")  # Temporal unreachable: pending
            if not sale_id:
                return await self._record(batch, entry, got, why)
            try:
                tenders = await self._tenders(req, batch, entry, got)
            except ActivityError as err:
                # A capture that timed out stays pending for the next upload; anything else is for
                # a manager.
                failure = "" if timed_out(err) else failure_message(err)
                return await self._record(batch, entry, got, failure)
            sale = SaleRequest(
                till_code=req.till_code,
                client_sale_id=entry.client_sale_id,
                cashier_id=got.cashier_id,
                # Priced by the Sale from the catalogue as of sold_at, never at the till's word.
                lines=tuple(BasketLine(sku=ln.sku, quantity=ln.quantity) for ln in entry.lines),
                tenders=tenders,
                sold_at=entry.sold_at,
                offline=True,
                customer_id=entry.customer_id
                if entry.customer_id is not None and workflow.patched(OFFLINE_CUSTOMER_PATCH)
                else None,
            )
            failure = ""
            try:
                child = await workflow.start_child_workflow(
                    SALE_WORKFLOW,
                    sale,
                    id=sale_id,
                    # The sales queue, or the replay's own (issue 21): as the request says.
                    task_queue=req.sale_task_queue,
                    result_type=SaleResult,
                    # Its own id only when nothing ever ran under it (a run that ended left its
                    # idempotency keys behind); the new id may run again after a refusal.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
                    if sale_id == got.workflow_id
                    else WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                    # A sale runs to its end even if this replay is cut off: never half a sale.
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    search_attributes=search_attributes(
                        store=batch.location_code,
                        till=req.till_code,
                        channel="store",
                        order=sale_id,
                    ),
                )
                result: SaleResult = await child
                if result.fiscal_status == "pending":
                    self._fiscal_pending = True
                if result.status != "completed":
                    failure = (
                        "; ".join(getattr(result, "declines", ()) or ())
                        or f"the sale ended {result.status}"
                    )
            except WorkflowAlreadyStartedError:
                continue  # started meanwhile (another upload, the till's attempt): look again
            except ChildWorkflowError as err:
                failure = failure_message(err)
            return await self._record(batch, entry, got, failure)
        return await self._record(batch, entry, got, "")  # still contended: the next upload tries

    async def _sale_id(self, req: ReplayRequest, got: ReceivedEntry) -> tuple[str, str]:
        """The id to apply the entry under, once any earlier run under its own id is settled: its
        own when nothing ran; a new one when that run ended without a sale (abandoned, failed,
        terminated: it may have left stock and payment rows under its id). ("", "") when a run
        recorded the sale already; ("", why) to flag the entry when one is still running after
        the wait."""
        found = await self._settled(req, got.workflow_id)
        looked_at = got.workflow_id
        if found.state == "none":
            return got.workflow_id, ""
        if found.state == "ended":
            looked_at = replacement_workflow_id(got.workflow_id)
            found = await self._settled(req, looked_at)
            if found.state in ("none", "ended"):
                return looked_at, ""
        if found.state == "completed":
            return "", ""
        minutes = max(1, round(req.running_wait_s / 60))
        return "", (
            f"Not applied: the sale {looked_at} is still running at the central system "
            f"({found.detail or 'running'}) after {minutes} min; a manager decides."
        )

    async def _settled(self, req: ReplayRequest, workflow_id: str) -> AttemptFound:
        """The earlier run under this id once it no longer runs, or as it is when the wait is
        over."""
        until = workflow.now() + timedelta(seconds=req.running_wait_s)
        pause = 1.0
        while True:
            found: AttemptFound = await workflow.execute_local_activity_method(
                ReplayActivities.online_attempt, AttemptCheck(workflow_id=workflow_id), **ATTEMPT
            )
            left = (until - workflow.now()).total_seconds()
            if found.state != "running" or left <= 0:
                return found
            await workflow.sleep(min(pause, left))
            pause = min(pause * 2, 30.0)

    async def _tenders(
        self, req: ReplayRequest, batch: ReceivedBatch, entry: JournalEntry, got: ReceivedEntry
    ) -> tuple[TenderIn, ...]:
        """Cash as it was handed over; stored cards captured first, declines turned into collection
        tasks. Every card is checked against the provider's payment before any is captured."""

        def card(n: int, t: JournalTender, *, verify_only: bool) -> CardCapture:
            return CardCapture(
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
                verify_only=verify_only,
            )

        cards = [(n, t) for n, t in enumerate(entry.tenders, start=1) if t.kind == "card"]
        if len(cards) > 1:  # one card alone is checked by its capture, before it captures
            for n, t in cards:
                await workflow.execute_activity_method(
                    ReplayActivities.capture_card, card(n, t, verify_only=True), **CAPTURE
                )
        out = []
        for n, t in enumerate(entry.tenders, start=1):
            if t.kind != "card":
                out.append(TenderIn(kind=t.kind, amount=t.tendered or t.amount))
                continue
            captured: CardCaptured = await workflow.execute_activity_method(
                ReplayActivities.capture_card, card(n, t, verify_only=False), **CAPTURE
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
