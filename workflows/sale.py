"""The till sale saga: price, take stock, take tenders, record the order, then print and open the drawer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.receipts import ReceiptActivities, ReceiptRequest
    from activities.sale import (
        OrderRecord,
        PricedSale,
        SaleActivities,
        StockCommit,
        StockRestore,
        TenderRecord,
        VoidTenders,
    )
    from workflows.contracts import (
        DeviceResult,
        DrawerKick,
        PrintJob,
        SaleRequest,
        SaleResult,
        SaleStatus,
        device_task_queue,
    )
    from workflows.policies import COMPENSATION, DEVICE, STEP

def _cause(err: BaseException) -> tuple[str, str]:
    """The business error type and message behind an activity failure."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", cause.message
    return "InternalError", str(cause or err)


@workflow.defn(name="Sale")
class SaleWorkflow:
    """One till sale; the `checkout` update answers the till as soon as money and stock are settled."""

    def __init__(self) -> None:
        self._result: SaleResult | None = None
        self._error: tuple[str, str] | None = None
        self._step = "started"
        self._compensating = False
        self._printed = False
        self._drawer = False

    @workflow.run
    async def run(self, req: SaleRequest) -> SaleResult:
        wf_id = workflow.info().workflow_id
        sold_at = req.sold_at or workflow.now()
        undo: list[Callable[[], Awaitable[Any]]] = []
        try:
            self._step = "pricing"
            priced: PricedSale = await workflow.execute_local_activity_method(
                SaleActivities.price, req, **STEP
            )
            self._step = "stock"
            undo.append(lambda: workflow.execute_local_activity_method(
                SaleActivities.restore_stock, StockRestore(wf_id, priced.location_id, sold_at), **COMPENSATION
            ))
            outcome = await workflow.execute_local_activity_method(
                SaleActivities.commit_stock,
                StockCommit(wf_id, priced.location_id, wf_id, priced.lines, sold_at),
                **STEP,
            )
            self._step = "tenders"
            undo.append(lambda: workflow.execute_local_activity_method(
                SaleActivities.void_tenders, VoidTenders(wf_id), **COMPENSATION
            ))
            await workflow.execute_local_activity_method(
                SaleActivities.record_tenders,
                TenderRecord(wf_id, priced.till_id, priced.location_id, priced.currency, priced.tenders),
                **STEP,
            )
            self._step = "order"
            recorded = await workflow.execute_local_activity_method(
                SaleActivities.record_order,
                OrderRecord(wf_id, req.till_code, priced, req.cashier_id, outcome.warnings, sold_at),
                **STEP,
            )
        except (ActivityError, ApplicationError) as err:
            # Local activity failures may surface as the ApplicationError itself.
            self._error = _cause(err)
            await self._compensate(undo)
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise ApplicationError(self._error[1], type=self._error[0], non_retryable=True) from err

        self._result = SaleResult(
            sale_id=recorded.number,
            workflow_id=wf_id,
            status="completed",
            currency=priced.currency,
            lines=priced.lines,
            subtotal=priced.subtotal,
            tax_total=priced.tax_total,
            total=priced.total,
            tenders=priced.tenders,
            change_due=priced.change_due,
            warnings=outcome.warnings,
            sold_at=sold_at,
        )
        self._step = "settled"
        await self._devices(req, recorded.number, any(t.kind == "cash" for t in priced.tenders))
        self._step = "done"
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self._result

    async def _compensate(self, undo: list[Callable[[], Awaitable[Any]]]) -> None:
        self._compensating = True
        self._step = "compensating"
        for step in reversed(undo):
            await step()
        self._step = "compensated"

    async def _devices(self, req: SaleRequest, number: str, cash: bool) -> None:
        """After the answer: drawer (cash only) and receipt on the till's own device queue."""
        queue = device_task_queue(req.till_code)
        receipt = await workflow.execute_local_activity_method(
            ReceiptActivities.build, ReceiptRequest(number), **STEP
        )
        if cash:
            kick: DeviceResult = await workflow.execute_activity(
                "open_drawer",
                DrawerKick(f"{number}:drawer", req.till_code, "cash sale"),
                task_queue=queue,
                result_type=DeviceResult,
                **DEVICE,
            )
            self._drawer = kick.done
        printed: DeviceResult = await workflow.execute_activity(
            "print_receipt",
            PrintJob(f"{number}:receipt", receipt),
            task_queue=queue,
            result_type=DeviceResult,
            **DEVICE,
        )
        self._printed = printed.done

    @workflow.update
    async def checkout(self) -> SaleResult:
        """Wait until the sale is settled (or refused) and answer the till."""
        await workflow.wait_condition(lambda: self._result is not None or self._error is not None)
        if self._result is None:
            assert self._error is not None
            raise ApplicationError(self._error[1], type=self._error[0], non_retryable=True)
        return self._result

    @workflow.query
    def status(self) -> SaleStatus:
        """Where the sale is: for ops and for the till's status line."""
        return SaleStatus(
            workflow_id=workflow.info().workflow_id,
            step=self._step,
            settled=self._result is not None,
            compensating=self._compensating,
            receipt_printed=self._printed,
            drawer_opened=self._drawer,
            error=self._error[1] if self._error else "",
        )
