"""The Shift saga of one till: counted float → cash events → blind close → a manager's approval
over the variance threshold → Z report (gap-free number) printed on the till's printer and
stored. A shift still open past the store's closing time is flagged for the manager."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.shifts import ShiftActivities
    from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
    from contracts.devices import (
        PRINT_Z_REPORT_ACTIVITY,
        ZReportPrinted,
        device_task_queue,
    )
    from contracts.errors import to_failure
    from contracts.fiscal import FiscalSignature
    from contracts.shift import (
        CASH_UPDATE,
        CLOSE_UPDATE,
        OPEN_UPDATE,
        SHIFT_WORKFLOW,
        STATUS_QUERY,
        CashCmd,
        CashIn,
        CloseIn,
        CountCmd,
        Counted,
        FinishCmd,
        Finished,
        FlagCmd,
        OpenCmd,
        PrintedCmd,
        ShiftRequest,
        ShiftView,
    )
    from domain.errors import Conflict, InvalidRequest
    from workflows.fiscal_steps import complete_after_print, sign_at_till
    from workflows.policies import DEVICE, STEP
    from workflows.steered import Steered

ABANDONED_AFTER = timedelta(days=40)  # a shift nobody closes stops waiting (it stays flagged)


@workflow.defn(name=SHIFT_WORKFLOW)
class ShiftWorkflow(Steered):
    """One shift of one till, from its float to its Z report."""

    @workflow.init
    def __init__(self, req: ShiftRequest) -> None:
        self._req = req
        self._init_steps()
        self._seq = 0
        self._counted_by = 0
        self._closed_at: datetime | None = None  # an offline close: when the till made it
        self._done: Finished | None = None

    @workflow.run
    async def run(self, req: ShiftRequest) -> ShiftView:
        wf = workflow.info().workflow_id
        await self._record(
            ShiftActivities.open, OpenCmd(workflow_id=wf, request=req, opened_at=workflow.now())
        )
        closes_at = self._view.closes_at
        if closes_at is not None:
            try:
                await workflow.wait_condition(
                    lambda: self._state == "closed",
                    timeout=max(closes_at - workflow.now(), timedelta(seconds=1)),
                )
            except TimeoutError:
                async with self._lock:
                    if self._state != "closed":
                        self._view = await workflow.execute_activity_method(
                            ShiftActivities.flag,
                            FlagCmd(workflow_id=wf, at=workflow.now()),
                            **STEP,
                        )
        # Still open after that: it stays flagged; the manager closes it when the till is back.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._state == "closed", timeout=ABANDONED_AFTER)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._done is not None:
            # Issue 20: a fiscal location's closing is signed at its Z (no step elsewhere).
            signature = await sign_at_till(self._done.fiscal_scheme, "closing")
            await self._print_and_store(_signed_z(self._done, signature))
            await complete_after_print(signature, "closing")
        assert self._view is not None
        return self._view

    def _refuse_unless(self, *states: str, doing: str) -> None:
        if self._state not in states:
            raise to_failure(
                Conflict(
                    f"Shift {self._req.n} of till {self._req.till_code} is {self._state}; "
                    f"it cannot be {doing}.",
                    code="shift_closed" if self._state == "closed" else "shift_state",
                )
            )

    async def _finish(self, approval: Approval | None) -> ShiftView:
        wf = workflow.info().workflow_id
        done: Finished = await self._step(
            ShiftActivities.finish,
            lambda: FinishCmd(
                workflow_id=wf,
                at=(self._closed_at if approval is None else None) or workflow.now(),
                closed_by=self._counted_by,
                approved_by=approval.manager_user_id if approval else None,
                note=approval.note if approval else "",
            ),
        )
        self._view = done.view
        self._done = done  # printed by run() after this answer: a printer that is off waits
        return done.view

    async def _print_and_store(self, done: Finished) -> None:
        wf = workflow.info().workflow_id
        printed = await workflow.execute_activity(
            PRINT_Z_REPORT_ACTIVITY,
            done.job,
            task_queue=device_task_queue(self._req.till_code),
            result_type=ZReportPrinted,
            **DEVICE,
        )
        await workflow.execute_activity_method(
            ShiftActivities.printed,
            PrintedCmd(workflow_id=wf, escpos_b64=printed.escpos_b64, at=workflow.now()),
            **STEP,
        )

    @workflow.update(name=OPEN_UPDATE)
    async def opened(self) -> ShiftView:
        """Answer the cashier who opened the shift once its float is recorded."""
        view: ShiftView = await self._first_answer()
        return view

    @workflow.update(name=CASH_UPDATE)
    async def cash(self, cash: CashIn) -> ShiftView:
        """A paid-in, paid-out, drop or no-sale of the open shift."""
        wf = workflow.info().workflow_id

        def numbered() -> CashCmd:
            self._seq += 1
            return CashCmd(workflow_id=wf, seq=self._seq, cash=cash, at=workflow.now())

        self._view = await self._step(ShiftActivities.cash, numbered)
        assert self._view is not None
        return self._view

    @cash.validator
    def _validate_cash(self, cash: CashIn) -> None:
        self._refuse_unless("open", doing="given a cash movement")
        needs = (cash.kind == "no_sale" and self._req.no_sale_approval) or (
            cash.kind == "paid_out" and cash.amount > self._req.paid_out_limit
        )
        if needs and cash.approved_by is None:
            raise to_failure(
                InvalidRequest(
                    "This needs a manager's approval (staff code and PIN).",
                    code="approval_required",
                )
            )

    @workflow.update(name=CLOSE_UPDATE)
    async def close(self, close: CloseIn) -> ShiftView:
        """The blind count; within the threshold the shift closes with its Z report."""
        wf = workflow.info().workflow_id
        self._counted_by = close.by
        # An offline till's close counts at the time it was made (its journal's), else now.
        self._closed_at = close.closed_at
        out: Counted = await self._step(
            ShiftActivities.count,
            lambda: CountCmd(
                workflow_id=wf,
                close=close,
                at=close.closed_at or workflow.now(),
                variance_threshold=self._req.variance_threshold,
            ),
        )
        self._view = out.view
        if out.needs_approval:
            return out.view
        return await self._finish(None)

    @close.validator
    def _validate_close(self, close: CloseIn) -> None:
        self._refuse_unless("open", doing="closed")

    @workflow.update(name=APPROVE_UPDATE)
    async def approve(self, approval: Approval) -> ApprovalAnswer:
        """A manager of the store accepts the variance (the shift closes) or rejects the count
        (the cashier counts again)."""
        wf = workflow.info().workflow_id
        if approval.decision == "approve":
            view = await self._finish(approval)
            return ApprovalAnswer(
                state=view.state, message=f"Approved by {approval.manager_name}: Z {view.z_number}."
            )
        self._view = await self._step(
            ShiftActivities.reopen,
            lambda: FinishCmd(
                workflow_id=wf,
                at=workflow.now(),
                closed_by=self._counted_by,
                approved_by=approval.manager_user_id,
                note=approval.note,
            ),
        )
        assert self._view is not None
        return ApprovalAnswer(
            state=self._view.state, message=f"Rejected by {approval.manager_name}: count again."
        )

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        self._refuse_unless("review", doing="approved (it is not waiting for a manager)")
        if approval.decision == "approve" and not approval.note.strip():
            raise to_failure(
                InvalidRequest("Approving a variance needs a note.", code="note_required")
            )

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> ShiftView | None:
        """Where the shift is (None until the float is recorded)."""
        return self._view


def _signed_z(done: Finished, signature: FiscalSignature | None) -> Finished:
    """The Z job with the closing's signature lines to print (as it is where nothing signs)."""
    if signature is None or signature.status == "not_required":
        return done
    report = dataclasses.replace(done.job.report, fiscal_lines=signature.receipt_lines)
    return dataclasses.replace(done, job=dataclasses.replace(done.job, report=report))
