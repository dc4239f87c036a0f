"""The StockAdjustment saga, one mechanism for every manual change of stock: adjustments with a
reason code (damage, theft, found, correction), and quarantined goods released to sellable or
written off. Above a threshold of units or value it waits for a manager (contracts/approvals.py);
nobody deciding in time rejects it, and a rejected change moves nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.stock_ops import StockOpsActivities
    from contracts.approvals import APPROVE_UPDATE, Approval, ApprovalAnswer
    from contracts.errors import as_workflow_failure, to_failure
    from contracts.stock import (
        ADJUSTMENT_WORKFLOW,
        STATUS_QUERY,
        SUBMIT_UPDATE,
        AdjustmentAssessment,
        AdjustmentCmd,
        AdjustmentDecision,
        AdjustmentRequest,
        AdjustmentState,
        AdjustmentStatus,
    )
    from domain.errors import Conflict
    from workflows.policies import COMPENSATION, STEP
    from workflows.saga import Saga


@workflow.defn(name=ADJUSTMENT_WORKFLOW)
class StockAdjustmentWorkflow:
    """One adjustment at a location; `submit` answers once it applied, was refused or waits."""

    def __init__(self) -> None:
        self._state: str = "assessing"
        self._req: AdjustmentRequest | None = None
        self._assessment: AdjustmentAssessment | None = None
        self._approval: Approval | None = None
        self._answers = 0
        self._error: ApplicationError | None = None
        self._message = ""

    @workflow.run
    async def run(self, req: AdjustmentRequest) -> AdjustmentState:
        self._req = req
        info = workflow.info()
        cmd = AdjustmentCmd(workflow_id=info.workflow_id, run_id=info.run_id, request=req)
        saga = Saga()
        try:
            a = self._assessment = await workflow.execute_local_activity_method(
                StockOpsActivities.adjust_assess, cmd, **STEP
            )
            decided_by = None
            if a.approval_reasons:
                approval = await self._wait_for_manager(req)
                if approval is None or approval.decision != "approve":
                    await self._finish(req, "rejected", approval)
                    return self._snapshot()
                decided_by = approval.manager_user_id
                await workflow.execute_local_activity_method(
                    StockOpsActivities.adjust_finish,
                    AdjustmentDecision(
                        adjustment_id=req.adjustment_id,
                        status="approved",
                        decided_by=decided_by,
                        note=approval.note,
                    ),
                    **STEP,
                )
            saga.push(StockOpsActivities.adjust_revert, cmd, local=True, **COMPENSATION)
            await workflow.execute_local_activity_method(
                StockOpsActivities.adjust_apply, cmd, **STEP
            )
            await workflow.execute_local_activity_method(
                StockOpsActivities.adjust_finish,
                AdjustmentDecision(adjustment_id=req.adjustment_id, status="applied"),
                **STEP,
            )
        except (ActivityError, ApplicationError) as err:
            self._error = as_workflow_failure(err)
            self._state = "failed"
            await saga.compensate()
            self._answers += 1
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise self._error from err
        self._state = "applied"
        self._answers += 1
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self._snapshot()

    async def _wait_for_manager(self, req: AdjustmentRequest) -> Approval | None:
        self._state = "awaiting_approval"
        self._answers += 1
        try:
            await workflow.wait_condition(
                lambda: self._approval is not None,
                timeout=timedelta(seconds=req.approval_timeout_s),
            )
        except TimeoutError:
            self._message = "No manager decided in time; the adjustment was rejected."
            return None
        return self._approval

    async def _finish(self, req: AdjustmentRequest, status: str, approval: Approval | None) -> None:
        if approval is not None:
            self._message = f"Rejected by {approval.manager_name}. {approval.note}".strip()
        await workflow.execute_local_activity_method(
            StockOpsActivities.adjust_finish,
            AdjustmentDecision(
                adjustment_id=req.adjustment_id,
                status="rejected",
                decided_by=approval.manager_user_id if approval else None,
                note=approval.note if approval else self._message,
            ),
            **COMPENSATION,
        )
        self._state = status
        self._answers += 1
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())

    def _snapshot(self) -> AdjustmentState:
        a, req = self._assessment, self._req
        return AdjustmentState(
            adjustment_id=req.adjustment_id if req else "",
            workflow_id=workflow.info().workflow_id,
            status=cast(AdjustmentStatus, self._state),
            approval_reasons=a.approval_reasons if a else (),
            units=a.units if a else 0,
            value=a.value if a else 0,
            currency=a.currency if a else "",
            message=self._message,
        )

    async def _answer(self, seen: int) -> AdjustmentState:
        await workflow.wait_condition(lambda: self._answers > seen)
        if self._error is not None:
            raise self._error
        return self._snapshot()

    @workflow.update(name=SUBMIT_UPDATE)
    async def submit(self) -> AdjustmentState:
        """Answer the caller: applied, rejected, or waiting for a manager."""
        return await self._answer(0)

    @workflow.update(name=APPROVE_UPDATE)
    async def approve(self, approval: Approval) -> ApprovalAnswer:
        """A manager of the location approves or rejects the held change."""
        seen = self._answers
        self._approval = approval
        state = await self._answer(seen)
        return ApprovalAnswer(state=state.status, message=state.message)

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        if self._state != "awaiting_approval" or self._approval is not None:
            raise to_failure(
                Conflict(
                    f"This adjustment is not waiting for approval (it is {self._state}).",
                    code="not_awaiting_approval",
                )
            )

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> AdjustmentState:
        """Where the adjustment is."""
        return self._snapshot()
