"""The Count saga: snapshot → entries (nothing frozen; sales go on) → submit → recount or a
manager's approval over the threshold → one set of ledger corrections (reason "count").

Its one compensation, on workflows/saga.py, is `count.close` ("Abandoned."), pushed once the
snapshot is taken and run when the count is cancelled by an operator or left for 90 days; a
count that ends (applied, cancelled, rejected) has nothing to undo."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.counts import CountActivities
    from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
    from contracts.count import (
        CANCEL_UPDATE,
        COUNT_WORKFLOW,
        ENTER_UPDATE,
        START_UPDATE,
        STATUS_QUERY,
        SUBMIT_UPDATE,
        ApplyCmd,
        CancelCountIn,
        CloseCountCmd,
        CountRequest,
        CountView,
        EnterCmd,
        EnterIn,
        EvaluateCmd,
        Evaluation,
        SnapshotCmd,
        SubmitIn,
    )
    from contracts.errors import to_failure
    from domain.errors import Conflict
    from workflows.policies import COMPENSATION
    from workflows.saga import Saga
    from workflows.steered import Steered

FINAL = ("applied", "cancelled", "failed")
ABANDONED_AFTER = timedelta(days=90)  # a count nobody finishes is called off


@workflow.defn(name=COUNT_WORKFLOW)
class CountWorkflow(Steered):
    """One cycle count of some SKUs at one location."""

    @workflow.init
    def __init__(self, req: CountRequest) -> None:
        self._req = req
        self._init_steps()
        self._batches = 0
        self._review: tuple[str, ...] = ()

    @workflow.run
    async def run(self, req: CountRequest) -> CountView:
        wf = workflow.info().workflow_id
        await self._record(CountActivities.snapshot, SnapshotCmd(workflow_id=wf, request=req))
        saga = Saga()
        # Nothing applied when it is abandoned: close the record so it stops showing as open.
        saga.push(
            CountActivities.close,
            CloseCountCmd(workflow_id=wf, reason="Abandoned."),
            **COMPENSATION,
        )
        try:
            await workflow.wait_condition(lambda: self._state in FINAL, timeout=ABANDONED_AFTER)
        except (TimeoutError, asyncio.CancelledError):
            await saga.compensate()
            raise
        saga.clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._view is not None
        return self._view

    def _refuse_unless(self, *states: str, doing: str) -> None:
        if self._state not in states:
            raise to_failure(
                Conflict(
                    f"Count {self._req.count_id} is {self._state}; it cannot be {doing}.",
                    code="count_state",
                )
            )

    async def _apply(self, approved_by: int | None) -> CountView:
        wf = workflow.info().workflow_id
        view = await self._step(
            CountActivities.apply,
            lambda: ApplyCmd(workflow_id=wf, approved_by=approved_by, occurred_at=workflow.now()),
        )
        assert isinstance(view, CountView)
        self._view, self._review = view, ()
        return view

    @workflow.update(name=START_UPDATE)
    async def start(self) -> CountView:
        """Answer the manager who started the count once its snapshot is taken."""
        view: CountView = await self._first_answer()
        return view

    @workflow.update(name=ENTER_UPDATE)
    async def enter(self, entry: EnterIn) -> CountView:
        """Staff counted some SKUs (in a review, this is the recount)."""
        wf = workflow.info().workflow_id

        def numbered() -> EnterCmd:
            self._batches += 1
            return EnterCmd(
                workflow_id=wf,
                batch_no=self._batches,
                round=2 if self._state == "review" else 1,
                entries=entry,
                review_skus=self._review,
            )

        view = await self._step(CountActivities.enter, numbered)
        assert isinstance(view, CountView)
        self._view = view
        return view

    @enter.validator
    def _validate_enter(self, entry: EnterIn) -> None:
        self._refuse_unless("counting", "review", doing="counted")

    @workflow.update(name=SUBMIT_UPDATE)
    async def submit(self, sub: SubmitIn) -> CountView:
        """Counting is done: apply the corrections, or hold the ones over the threshold."""
        wf = workflow.info().workflow_id
        out = await self._step(
            CountActivities.evaluate,
            lambda: EvaluateCmd(
                workflow_id=wf,
                max_units=self._req.max_units,
                max_value=self._req.max_value,
                review_skus=self._review,
            ),
        )
        assert isinstance(out, Evaluation)
        self._view, self._review = out.view, out.review_skus
        if out.review_skus:
            return out.view
        return await self._apply(None)

    @submit.validator
    def _validate_submit(self, sub: SubmitIn) -> None:
        self._refuse_unless("counting", "review", doing="submitted")

    @workflow.update(name=APPROVE_UPDATE)
    async def approve(self, approval: Approval) -> ApprovalAnswer:
        """A manager of the location approves the variances (applied now) or rejects the count
        (nothing applied)."""
        wf = workflow.info().workflow_id
        if approval.decision == "approve":
            view = await self._apply(approval.manager_user_id)
            return ApprovalAnswer(state=view.state, message=f"Approved by {approval.manager_name}.")
        reason = f"Rejected by {approval.manager_name}. {approval.note}".strip()
        closed = await self._step(
            CountActivities.close,
            lambda: CloseCountCmd(workflow_id=wf, reason=reason),
        )
        assert isinstance(closed, CountView)
        self._view = closed
        return ApprovalAnswer(state=closed.state, message=reason)

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        self._refuse_unless("review", doing="approved (it is not waiting for a manager)")

    @workflow.update(name=CANCEL_UPDATE)
    async def cancel(self, cancel: CancelCountIn) -> CountView:
        """Call the count off; nothing is applied."""
        wf = workflow.info().workflow_id
        reason = cancel.reason or "Cancelled."
        closed = await self._step(
            CountActivities.close,
            lambda: CloseCountCmd(workflow_id=wf, reason=reason),
        )
        assert isinstance(closed, CountView)
        self._view = closed
        return closed

    @cancel.validator
    def _validate_cancel(self, cancel: CancelCountIn) -> None:
        self._refuse_unless("counting", "review", doing="cancelled")

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CountView | None:
        """Where the count is (None until the snapshot is taken)."""
        return self._view
