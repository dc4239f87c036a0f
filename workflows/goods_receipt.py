"""The GoodsReceipt saga: check the delivery against its order, record it, put the goods on the
shelf, settle costs and the order's status. A step that fails undoes the ones before it."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.stock_ops import StockOpsActivities
    from contracts.errors import as_workflow_failure
    from contracts.stock import GOODS_RECEIPT_WORKFLOW, ReceiptCmd, ReceiptRequest, ReceiptResult
    from workflows.policies import COMPENSATION, STEP
    from workflows.saga import Saga


@workflow.defn(name=GOODS_RECEIPT_WORKFLOW)
class GoodsReceiptWorkflow:
    """One delivery at a location, against a purchase order or free."""

    @workflow.run
    async def run(self, req: ReceiptRequest) -> ReceiptResult:
        info = workflow.info()
        saga = Saga()
        try:
            plan = await workflow.execute_local_activity_method(
                StockOpsActivities.receipt_plan, req, **STEP
            )
            cmd = ReceiptCmd(
                workflow_id=info.workflow_id, run_id=info.run_id, request=req, plan=plan
            )
            saga.push(StockOpsActivities.receipt_void, cmd, local=True, **COMPENSATION)
            await workflow.execute_local_activity_method(
                StockOpsActivities.receipt_record, cmd, **STEP
            )
            saga.push(StockOpsActivities.receipt_unstock, cmd, local=True, **COMPENSATION)
            await workflow.execute_local_activity_method(
                StockOpsActivities.receipt_stock, cmd, **STEP
            )
            result = await workflow.execute_local_activity_method(
                StockOpsActivities.receipt_settle, cmd, **STEP
            )
        except (ActivityError, ApplicationError) as err:
            await saga.compensate()
            raise as_workflow_failure(err) from err
        saga.clear()
        return result
