"""Resolving an offline stock variance: one step, its ledger movement and its record in one
transaction (nothing to compensate)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.stock_ops import StockOpsActivities
    from contracts.errors import as_workflow_failure
    from contracts.stock import VARIANCE_WORKFLOW, VarianceRequest, VarianceResult
    from workflows.policies import STEP


@workflow.defn(name=VARIANCE_WORKFLOW)
class ResolveVarianceWorkflow:
    """Accept a variance as a loss, or match it to a count."""

    @workflow.run
    async def run(self, req: VarianceRequest) -> VarianceResult:
        try:
            return await workflow.execute_local_activity_method(
                StockOpsActivities.variance_resolve, req, **STEP
            )
        except (ActivityError, ApplicationError) as err:
            raise as_workflow_failure(err) from err
