"""The reorder run (a Temporal Schedule starts it): suggestions per location, one DRAFT purchase
order per supplier and location. Drafts only: nobody is sent anything. A failed draft discards the
run's other drafts."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.stock_ops import StockOpsActivities
    from contracts.errors import as_workflow_failure
    from contracts.stock import (
        REORDER_WORKFLOW,
        DraftCmd,
        DraftLine,
        ReorderRequest,
        ReorderResult,
        SuggestCmd,
        Suggestion,
    )
    from workflows.policies import COMPENSATION, STEP
    from workflows.saga import Saga


@workflow.defn(name=REORDER_WORKFLOW)
class ReorderDraftWorkflow:
    """Draft purchase orders from the reorder suggestions."""

    @workflow.run
    async def run(self, req: ReorderRequest) -> ReorderResult:
        run = workflow.info().workflow_id
        saga = Saga()
        try:
            found = await workflow.execute_activity_method(
                StockOpsActivities.reorder_suggest, SuggestCmd(request=req), **STEP
            )
            groups: dict[tuple[int, int, str], list[Suggestion]] = {}
            orphans: list[str] = []
            for sg in found:
                if sg.supplier_id is None or sg.unit_cost is None:
                    orphans.append(f"{sg.location_code}:{sg.sku}")
                    continue
                groups.setdefault((sg.supplier_id, sg.location_id, sg.currency), []).append(sg)
            saga.push(StockOpsActivities.reorder_discard, run, **COMPENSATION)
            drafted = []
            for (supplier_id, location_id, currency), lines in sorted(groups.items()):
                number = await workflow.execute_activity_method(
                    StockOpsActivities.reorder_draft,
                    DraftCmd(
                        run=run,
                        supplier_id=supplier_id,
                        location_id=location_id,
                        currency=currency,
                        lines=tuple(
                            DraftLine(sku=sg.sku, quantity=sg.quantity, unit_cost=sg.unit_cost or 0)
                            for sg in lines
                        ),
                    ),
                    **STEP,
                )
                drafted.append(number)
        except (ActivityError, ApplicationError) as err:
            await saga.compensate()
            raise as_workflow_failure(err) from err
        saga.clear()
        return ReorderResult(run=run, drafted=tuple(drafted), without_supplier=tuple(orphans))
