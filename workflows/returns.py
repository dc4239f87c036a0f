"""The Return saga: assess against policy, wait for a manager when needed, claim, refund,
dispose."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, cast

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.refunds import RefundActivities
    from activities.returns import ReturnActivities
    from activities.sale import SaleActivities
    from activities.web_store_notices import WebStoreNoticeActivities
    from contracts.common import SALES_TASK_QUEUE, WEB_TASK_QUEUE
    from contracts.devices import (
        OPEN_DRAWER_ACTIVITY,
        PRINT_RECEIPT_ACTIVITY,
        DeviceResult,
        DrawerKick,
        PrintJob,
        device_task_queue,
    )
    from contracts.errors import as_workflow_failure, to_failure
    from contracts.fiscal import FiscalSignature
    from contracts.online import StoreRefundRequest
    from contracts.returns import (
        DECIDE_UPDATE,
        RETURN_WORKFLOW,
        STATUS_QUERY,
        SUBMIT_UPDATE,
        ApprovalDecision,
        CompleteCmd,
        CreditCmd,
        DisposeCmd,
        RefundLineOut,
        RefundRequest,
        ReturnAssessment,
        ReturnClaim,
        ReturnRequest,
        ReturnResult,
        ReturnStatus,
    )
    from contracts.sale import SALE_WORKFLOW, SaleRequest, TenderIn, sale_workflow_id
    from domain.errors import Conflict
    from workflows.fiscal_steps import complete_after_print, onto_receipt, sign_at_till
    from workflows.loyalty_steps import reverse_points
    from workflows.policies import COMPENSATION, DEVICE, NETWORK_STEP, STEP
    from workflows.saga import Saga

WEB_STORES = ("shopify", "woocommerce", "magento")
# Once money has moved, the remaining steps must finish: they retry until they do.
AFTER_REFUND = COMPENSATION


@workflow.defn(name=RETURN_WORKFLOW)
class ReturnWorkflow:
    """One return (or exchange) at a till; `submit` answers when done or waiting for a manager."""

    def __init__(self) -> None:
        self._state = "assessing"
        self._assessment: ReturnAssessment | None = None
        self._decision: ApprovalDecision | None = None
        self._answers = 0
        self._error: ApplicationError | None = None
        self._refunds: tuple[RefundLineOut, ...] = ()
        self._cash_out = 0
        self._credit = 0
        self._exchange_credit = 0
        self._exchange_id = ""
        self._message = ""
        self._req: ReturnRequest | None = None

    @workflow.run
    async def run(self, req: ReturnRequest) -> ReturnResult:
        self._req = req
        wf_id = workflow.info().workflow_id
        saga = Saga()
        try:
            a = self._assessment = await workflow.execute_local_activity_method(
                ReturnActivities.assess, req, **STEP
            )
            approved_by = await self._approval(req, a)
            # Until the money has moved, a failure gives the claimed quantities back to the sale.
            saga.push(ReturnActivities.release, req.return_id, local=True, **COMPENSATION)
            await workflow.execute_local_activity_method(
                ReturnActivities.claim,
                ReturnClaim(workflow_id=wf_id, request=req, assessment=a, approved_by=approved_by),
                **STEP,
            )
            if approved_by is None and a.approval_reasons:
                await self._finish(req, a, "rejected")
                return self._snapshot()
            self._state = "refunding"
            await self._refund(req, a)
        except (ActivityError, ApplicationError) as err:
            self._error = as_workflow_failure(err)
            self._state = "failed"
            await saga.compensate()
            self._answers += 1
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise self._error from err
        saga.clear()  # the refund is done: what follows retries until it finishes
        await workflow.execute_local_activity_method(
            ReturnActivities.dispose,
            DisposeCmd(
                workflow_id=wf_id, return_id=req.return_id, location_id=a.location_id, lines=a.lines
            ),
            **AFTER_REFUND,
        )
        if req.exchange is not None:
            await self._start_exchange(req)
        await self._finish(req, a, "completed")
        # Issue 20: a fiscal location's refund (a void: its cancellation) is signed before its
        # slip prints; no step at all where the location signs nothing.
        signature = await sign_at_till(a.fiscal_scheme, "void" if req.void else "return")
        await self._devices(req, signature)
        await complete_after_print(signature, "void" if req.void else "return")
        if a.order_id is not None:  # a return of a sale: its points go back with it
            await reverse_points()
        return self._snapshot()

    async def _approval(self, req: ReturnRequest, a: ReturnAssessment) -> int | None:
        """Outside the policy a manager of the store decides; silence means no."""
        if not a.approval_reasons:
            return req.approved_by  # a void: the manager who vouched at the till, if any
        if req.approved_by is not None:  # vouched for at the till before it started
            return req.approved_by
        self._state = "awaiting_approval"
        self._answers += 1
        try:
            await workflow.wait_condition(
                lambda: self._decision is not None,
                timeout=timedelta(seconds=req.approval_timeout_s),
            )
        except TimeoutError:
            self._message = "No manager decided in time; the return was rejected."
            return None
        assert self._decision is not None
        if not self._decision.approved:
            self._message = f"Rejected by a manager. {self._decision.note}".strip()
            return None
        return self._decision.manager_id

    async def _refund(self, req: ReturnRequest, a: ReturnAssessment) -> None:
        remainder = a.refund_total
        if req.exchange is not None:
            priced = await workflow.execute_local_activity_method(
                SaleActivities.price, self._exchange_sale(req, 0), **STEP
            )
            self._exchange_credit = min(a.refund_total, priced.total)
            remainder -= self._exchange_credit
        if remainder <= 0:
            return
        if a.refund_method == "store_credit":
            assert req.customer_id is not None
            await workflow.execute_local_activity_method(
                ReturnActivities.store_credit,
                CreditCmd(
                    return_id=req.return_id,
                    customer_id=req.customer_id,
                    amount=remainder,
                    currency=a.currency,
                ),
                **AFTER_REFUND,
            )
            self._credit = remainder
            self._refunds = (RefundLineOut(kind="store_credit", amount=remainder),)
            return
        if a.channel in WEB_STORES and a.web_order_id:
            # Paid through Shopify / WooCommerce: the refund goes back through the web store,
            # which is how it learns of the return.
            done = await workflow.execute_activity_method(
                WebStoreNoticeActivities.refund,
                StoreRefundRequest(
                    store_code=a.web_store,
                    order_external_id=a.web_order_id,
                    amount=remainder,
                    currency=a.currency,
                    key=f"return:{req.return_id}",
                    lines=(),
                    reason=f"Returned in store at till {req.till_code}",
                ),
                task_queue=WEB_TASK_QUEUE,
                **NETWORK_STEP,
            )
            self._refunds = (RefundLineOut(kind=a.channel, amount=done.amount),)
            return
        outcome = await workflow.execute_activity_method(
            RefundActivities.to_original_tenders,
            RefundRequest(
                sale_workflow_id=a.sale_workflow_id,
                amount=remainder,
                key=f"return:{req.return_id}",
                reason="customer return",
            ),
            **NETWORK_STEP,
        )
        self._refunds = tuple(RefundLineOut(kind=p.kind, amount=p.amount) for p in outcome.parts)
        self._cash_out = outcome.cash_out

    def _exchange_sale(self, req: ReturnRequest, credit: int) -> SaleRequest:
        assert req.exchange is not None
        tenders = (
            (TenderIn(kind="exchange", amount=credit, reference=req.return_id),) if credit else ()
        ) + req.exchange.tenders
        return SaleRequest(
            till_code=req.till_code,
            client_sale_id=f"x-{req.return_id}",
            cashier_id=req.cashier_id,
            lines=req.exchange.lines,
            tenders=tenders,
        )

    async def _start_exchange(self, req: ReturnRequest) -> None:
        """The new goods are a Sale of their own, paid first by the returned goods' value."""
        sale = self._exchange_sale(req, self._exchange_credit)
        self._exchange_id = sale_workflow_id(req.till_code, sale.client_sale_id)
        await workflow.start_child_workflow(
            SALE_WORKFLOW,
            sale,
            id=self._exchange_id,
            task_queue=SALES_TASK_QUEUE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )

    async def _finish(
        self, req: ReturnRequest, a: ReturnAssessment, status: Literal["completed", "rejected"]
    ) -> None:
        await workflow.execute_local_activity_method(
            ReturnActivities.complete,
            CompleteCmd(
                return_id=req.return_id,
                status=status,
                fraud_signal=a.fraud_signal,
                customer_id=req.customer_id,
                exchange_workflow_id=self._exchange_id,
            ),
            **AFTER_REFUND,
        )
        self._state = status
        self._answers += 1

    async def _devices(self, req: ReturnRequest, signature: FiscalSignature | None) -> None:
        """Cash back opens the drawer; the return receipt prints on the till's own queue."""
        queue = device_task_queue(req.till_code)
        receipt = await workflow.execute_local_activity_method(
            ReturnActivities.receipt, req.return_id, **STEP
        )
        receipt = onto_receipt(receipt, signature)
        if self._cash_out:
            await workflow.execute_activity(
                OPEN_DRAWER_ACTIVITY,
                DrawerKick(
                    job_id=f"return:{req.return_id}:drawer",
                    till_code=req.till_code,
                    reason="cash refund",
                ),
                task_queue=queue,
                result_type=DeviceResult,
                **DEVICE,
            )
        await workflow.execute_activity(
            PRINT_RECEIPT_ACTIVITY,
            PrintJob(job_id=f"return:{req.return_id}:receipt", receipt=receipt),
            task_queue=queue,
            result_type=DeviceResult,
            **DEVICE,
        )

    def _snapshot(self) -> ReturnResult:
        a, req = self._assessment, self._req
        status: ReturnStatus = "processing"
        if self._state in ("completed", "awaiting_approval", "rejected"):
            status = cast(ReturnStatus, self._state)
        return ReturnResult(
            return_id=req.return_id if req else "",
            workflow_id=workflow.info().workflow_id,
            till_code=req.till_code if req else "",
            status=status,
            currency=a.currency if a else "",
            refund_total=a.refund_total if a else 0,
            refund_method=(
                "exchange"
                if self._exchange_credit and not self._refunds
                else a.refund_method
                if a
                else ""
            ),
            refunds=self._refunds,
            cash_out=self._cash_out,
            store_credit=self._credit,
            exchange_credit=self._exchange_credit,
            exchange_sale_workflow_id=self._exchange_id,
            approval_reasons=a.approval_reasons if a else (),
            message=self._message,
        )

    async def _answer(self, seen: int) -> ReturnResult:
        await workflow.wait_condition(lambda: self._answers > seen)
        if self._error is not None:
            raise self._error
        return self._snapshot()

    @workflow.update(name=SUBMIT_UPDATE)
    async def submit(self) -> ReturnResult:
        """Answer the till: done, rejected, or waiting for a manager."""
        return await self._answer(0)

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, decision: ApprovalDecision) -> ReturnResult:
        """A manager of the store approves or rejects a return outside the policy."""
        seen = self._answers
        self._decision = decision
        return await self._answer(seen)

    @decide.validator
    def _validate_decide(self, decision: ApprovalDecision) -> None:
        if self._state != "awaiting_approval":
            raise to_failure(
                Conflict(f"This return is not waiting for approval (it is {self._state}).")
            )

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> ReturnResult:
        """Where the return is."""
        return self._snapshot()
