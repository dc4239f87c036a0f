"""The till sale saga: price, take stock, take tenders (as many as it needs), settle, record,
print."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.cash_sale import CashSaleActivities
    from activities.sale import SaleActivities
    from activities.tenders import TenderActivities
    from contracts.approvals import APPROVE_UPDATE, Approval
    from contracts.devices import (
        SALE_DEVICES_ACTIVITY,
        DrawerKick,
        PrintJob,
        Receipt,
        SaleDevices,
        SaleDevicesResult,
        device_task_queue,
    )
    from contracts.errors import as_workflow_failure, refusal, to_failure
    from contracts.fiscal import FiscalSignature
    from contracts.online import STOCK_TAKEN_SIGNAL, StockTaken
    from contracts.promotions import PromotionRelease, PromotionReservation
    from contracts.sale import (
        ABANDON_UPDATE,
        ADD_TENDERS_UPDATE,
        CHECKOUT_UPDATE,
        PAYMENT_EVENT_SIGNAL,
        SALE_WORKFLOW,
        STATUS_QUERY,
        AddTenders,
        CashCheckout,
        GiftCardIssue,
        IssuedGiftCard,
        OrderRecord,
        PaymentEvent,
        PricedSale,
        RecordedOrder,
        SaleApprovalRecord,
        SaleMoney,
        SaleOutcome,
        SaleRequest,
        SaleResult,
        SaleStatus,
        SaleStep,
        StockCommit,
        StockRestore,
        TenderAttempt,
        TenderIn,
        TenderOut,
        TenderResult,
        settles_in_cash,
    )
    from domain.errors import Conflict, DomainError, InvalidRequest
    from domain.money import format_minor
    from domain.tenders import CASH, EXCHANGE, POINTS, TenderBook
    from workflows.fiscal_steps import (
        complete_after_print,
        onto_receipt,
        record_offline,
        sign_at_till,
    )
    from workflows.loyalty_steps import earn_onto_receipt, earn_points
    from workflows.policies import CARD, COMPENSATION, DEVICE, NETWORK_STEP, STEP
    from workflows.saga import Saga

OPEN_SALE_TIMEOUT = timedelta(minutes=30)  # an open sale nobody tenders is abandoned
PROMOTIONS_PATCH = "promotion-takes"  # the reserve step of budgets and coupons (issue 17)
POINTS_TENDER_PATCH = "loyalty-points-tender"  # before it, a points tender was refused


class _Abandoned(Exception):
    pass


# Outside the sandbox: the sandbox re-imports this module and compiles its glue code for every
# sale, ~4 ms of CPU on the till's critical path. The module keeps to the house rules on its own
# (no I/O, no clocks, no randomness); tests/workflows/test_sale_determinism.py runs the sale's
# paths inside the sandbox, which refuses any such call, and replays those histories out of it.
@workflow.defn(name=SALE_WORKFLOW, sandboxed=False)
class SaleWorkflow:
    """One till sale; `checkout` answers when it is paid (or open for another tender)."""

    def __init__(self) -> None:
        self._priced: PricedSale | None = None
        self._state: SaleStep = "started"
        self._book = TenderBook(0, "")  # what is still due, and the change, as tenders go in
        self._taken: list[TenderOut] = []
        self._declines: list[str] = []
        self._pending: list[TenderIn] = []
        self._count = 0  # tenders attempted: numbers each attempt's idempotency key
        self._warnings: tuple[str, ...] = ()
        self._gift_cards: tuple[IssuedGiftCard, ...] = ()
        self._number = ""
        self._answers = 0  # bumped whenever the till has something new to hear
        self._abandon = False
        self._error: ApplicationError | None = None
        self._compensating = False
        self._printed = False
        self._drawer = False
        self._sold_at: datetime | None = None
        self._provider_events: list[PaymentEvent] = []
        self._approval: Approval | None = None  # a manager's decision on the adjustments
        self._approved_by: int | None = None
        self._fiscal: FiscalSignature | None = None  # issue 20: None when nothing is signed

    @workflow.run
    async def run(self, req: SaleRequest) -> SaleResult:
        wf_id = workflow.info().workflow_id
        sold_at = self._sold_at = req.sold_at or workflow.now()
        self._pending = list(req.tenders)
        saga = Saga()
        try:
            self._state = "pricing"
            priced: PricedSale | None = None
            recorded: RecordedOrder | None = None
            if settles_in_cash(req):
                cash = await workflow.execute_local_activity_method(
                    CashSaleActivities.checkout,
                    CashCheckout(workflow_id=wf_id, request=req, sold_at=sold_at),
                    **STEP,
                )
                priced = self._priced = cash.priced
                self._book = TenderBook(priced.total, priced.currency)
                if cash.recorded is not None:  # settled: stock, cash and order committed together
                    self._book = TenderBook(0, priced.currency, cash.change_due)
                    self._count = len(cash.tenders)
                    self._taken, self._pending = list(cash.tenders), []
                    self._warnings = cash.stock.warnings
                    await self._tell_orders(cash.stock.taken_from_orders)
                    recorded = cash.recorded
            if recorded is None:
                recorded = await self._step_by_step(req, priced, saga)
        except _Abandoned:
            await self._compensate(saga, "abandoned")
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            return self._snapshot()
        except (ActivityError, ApplicationError) as err:
            # Local activity failures may surface as the ApplicationError itself.
            self._error = as_workflow_failure(err)
            await self._compensate(saga, "failed")
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise self._error from err

        self._number = recorded.number
        self._state = "completed"
        self._answers += 1
        receipt, earned = recorded.receipt, False
        if req.customer_id is not None and not req.offline:  # the points and balance printed
            receipt, earned = await earn_onto_receipt(receipt)
        # Issue 20: a fiscal location's sale is signed before its receipt prints (no step at
        # all elsewhere); an offline one is recorded pending and signed by its replay, in order.
        scheme = self._priced.fiscal_scheme if self._priced else "none"
        if req.offline:
            self._fiscal = await record_offline(scheme, "sale")
        else:
            self._fiscal = await sign_at_till(scheme, "sale")
            receipt = onto_receipt(receipt, self._fiscal)
        if not req.offline:  # an offline sale printed its receipt and opened the drawer at the time
            await self._devices(
                req, recorded.number, receipt, any(t.kind == CASH for t in self._taken)
            )
        if not req.offline:
            self._fiscal = await complete_after_print(self._fiscal, "sale")
        if req.customer_id is not None and not earned:  # after the answer: never holds a sale
            await earn_points()
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self._snapshot()

    async def _step_by_step(
        self, req: SaleRequest, priced: PricedSale | None, saga: Saga
    ) -> RecordedOrder:
        """The saga for everything but plain cash: each step durable, each undone on failure."""
        wf_id = workflow.info().workflow_id
        sold_at = self._sold_at
        assert sold_at is not None
        if priced is None:
            priced = self._priced = await workflow.execute_local_activity_method(
                SaleActivities.price, req, **STEP
            )
            self._book = TenderBook(priced.total, priced.currency)
        if priced.approval_needed:
            await self._await_approval(req, priced)
        if priced.promotion_takes and workflow.patched(PROMOTIONS_PATCH):
            # Budgets and coupons before any stock or money moves; given back if the sale fails.
            saga.push(
                SaleActivities.release_promotions,
                PromotionRelease(key=wf_id),
                local=True,
                **COMPENSATION,
            )
            await workflow.execute_local_activity_method(
                SaleActivities.take_promotions,
                PromotionReservation(
                    key=wf_id, takes=priced.promotion_takes, customer_id=req.customer_id
                ),
                **STEP,
            )
        self._state = "stock"
        if priced.stock_lines:
            saga.push(
                SaleActivities.restore_stock,
                StockRestore(
                    workflow_id=wf_id, location_id=priced.location_id, occurred_at=sold_at
                ),
                local=True,
                **COMPENSATION,
            )
            outcome = await workflow.execute_local_activity_method(
                SaleActivities.commit_stock,
                StockCommit(
                    workflow_id=wf_id,
                    location_id=priced.location_id,
                    reference=wf_id,
                    lines=priced.stock_lines,
                    occurred_at=sold_at,
                ),
                **STEP,
            )
            self._warnings = outcome.warnings
            await self._tell_orders(outcome.taken_from_orders)
        saga.push(TenderActivities.void_all, SaleMoney(workflow_id=wf_id), **COMPENSATION)
        await self._collect(req, priced)
        self._state = "settling"
        if req.gift_cards:
            self._gift_cards = await workflow.execute_local_activity_method(
                SaleActivities.issue_gift_cards,
                GiftCardIssue(
                    workflow_id=wf_id,
                    currency=priced.currency,
                    amounts=tuple(g.amount for g in req.gift_cards),
                    reload_codes=tuple(g.reload_code for g in req.gift_cards),
                ),
                **STEP,
            )
        if any(t.kind == "card" for t in self._taken):
            await workflow.execute_activity_method(
                TenderActivities.capture_cards, SaleMoney(workflow_id=wf_id), **NETWORK_STEP
            )
        return await workflow.execute_local_activity_method(
            SaleActivities.record_order,
            OrderRecord(
                workflow_id=wf_id,
                till_code=req.till_code,
                priced=priced,
                cashier_id=req.cashier_id,
                tenders=tuple(self._taken),
                change_due=self._book.change,
                warnings=self._warnings,
                placed_at=sold_at,
                customer_id=req.customer_id,
                approved_by=self._approved_by,
                basket_started_at=req.basket_started_at,
            ),
            **STEP,
        )

    async def _await_approval(self, req: SaleRequest, priced: PricedSale) -> None:
        """Discounts over the cashier's limits: the sale waits, open, for a manager's staff code
        and PIN at the till (update `approve`), before any stock or money moves."""
        self._state = "approval"
        self._answers += 1
        try:
            await workflow.wait_condition(
                lambda: self._approval is not None or self._abandon, timeout=OPEN_SALE_TIMEOUT
            )
        except TimeoutError:
            self._declines.append("Nobody approved the discount for 30 minutes; it was abandoned.")
            raise _Abandoned() from None
        if self._abandon or self._approval is None:
            raise _Abandoned()
        if self._approval.decision != "approve":
            self._declines.append(
                f"{self._approval.manager_name} refused the discount. {self._approval.note}".strip()
            )
            raise _Abandoned()
        await workflow.execute_local_activity_method(
            SaleActivities.record_approval,
            SaleApprovalRecord(
                workflow_id=workflow.info().workflow_id,
                till_code=req.till_code,
                location_id=priced.location_id,
                cashier_id=req.cashier_id,
                manager_user_id=self._approval.manager_user_id,
                note=self._approval.note,
                adjustments=priced.adjustments,
            ),
            **STEP,
        )
        self._approved_by = self._approval.manager_user_id

    async def _tell_orders(self, taken: tuple[StockTaken, ...]) -> None:
        """Online orders whose held units this sale took re-source them (signal `stock_taken`)."""
        for t in taken:
            # A FailureError: the order closed meanwhile: nothing left to re-source.
            with contextlib.suppress(FailureError):
                await workflow.get_external_workflow_handle(t.order_workflow_id).signal(
                    STOCK_TAKEN_SIGNAL, t
                )

    async def _collect(self, req: SaleRequest, priced: PricedSale) -> None:
        """Take tenders until the total is covered; between batches the sale waits open."""
        while True:
            self._state = "tendering"
            await self._take_pending(req, priced)
            if self._book.settled:
                return
            if req.offline:
                # The customer left with the goods long ago: record the sale, flag the gap.
                self._warnings += (
                    f"Offline sale short by {format_minor(self._book.due, priced.currency)} after "
                    "its tenders; please check with the till's cashier.",
                )
                return
            self._state = "open"
            self._answers += 1
            try:
                await workflow.wait_condition(
                    lambda: bool(self._pending) or self._abandon, timeout=OPEN_SALE_TIMEOUT
                )
            except TimeoutError:
                self._declines.append("Nobody finished this sale for 30 minutes; it was abandoned.")
                raise _Abandoned() from None
            if self._abandon:
                raise _Abandoned()

    async def _take_pending(self, req: SaleRequest, priced: PricedSale) -> None:
        while self._pending:
            tender = self._pending.pop(0)
            if tender.kind == POINTS and (refused_points := _points_refusal(req, tender)):
                self._declines.append(refused_points)
                continue
            try:
                plan = self._book.plan(tender.kind, tender.amount)
            except DomainError as err:
                self._declines.append(err.message)
                continue
            self._count += 1
            attempt = TenderAttempt(
                workflow_id=workflow.info().workflow_id,
                number=self._count,
                kind=plan.kind,
                amount=plan.applied,
                tendered=plan.tendered,
                currency=priced.currency,
                till_code=req.till_code,
                till_id=priced.till_id,
                location_id=priced.location_id,
                reference=tender.reference,
                simulate=tender.simulate,
                proof=tender.proof,
            )
            try:
                result = await self._attempt(attempt, req.offline)
            except (ActivityError, ApplicationError) as err:
                refused = refusal(err)  # a refused tender leaves the sale open for another
                if refused is None:
                    raise
                result = TenderResult(approved=False, message=refused.message)
            if not result.approved:
                self._declines.append(result.message)
                if self._pending:
                    self._declines.append(
                        "The tenders after it were not taken; please tender again."
                    )
                self._pending.clear()
                return
            self._book.take(plan)
            self._taken.append(
                TenderOut(
                    kind=plan.kind,
                    amount=plan.applied,
                    tendered=plan.tendered,
                    reference=result.reference,
                    card_brand=result.card_brand,
                    card_last4=result.card_last4,
                    card_wallet=result.card_wallet,  # issue 19: data only, no new command
                )
            )

    async def _attempt(self, a: TenderAttempt, offline: bool) -> TenderResult:
        if a.kind in (CASH, EXCHANGE):  # no provider: recorded as taken
            return await workflow.execute_local_activity_method(TenderActivities.cash, a, **STEP)
        if (
            a.kind == "card" and offline
        ):  # taken by the terminal at the time; the replay captured it
            return await workflow.execute_local_activity_method(
                TenderActivities.offline_card, a, **STEP
            )
        if a.kind == "card":
            return await workflow.execute_activity_method(TenderActivities.card, a, **CARD)
        return await workflow.execute_local_activity_method(TenderActivities.balance, a, **STEP)

    async def _compensate(self, saga: Saga, final_state: SaleStep) -> None:
        self._compensating = bool(saga)  # a one-transaction cash sale has nothing durable to undo
        self._state = "compensating"
        await saga.compensate()
        self._state = final_state
        self._answers += 1

    async def _devices(self, req: SaleRequest, number: str, receipt: Receipt, cash: bool) -> None:
        """After the answer: drawer (cash only) and receipt on the till's own device queue."""
        queue = device_task_queue(req.till_code)
        kick = (
            DrawerKick(job_id=f"{number}:drawer", till_code=req.till_code, reason="cash sale")
            if cash
            else None
        )
        job = PrintJob(job_id=f"{number}:receipt", receipt=receipt)
        done: SaleDevicesResult = await workflow.execute_activity(
            SALE_DEVICES_ACTIVITY,
            SaleDevices(receipt=job, drawer=kick),
            task_queue=queue,
            result_type=SaleDevicesResult,
            **DEVICE,
        )
        self._drawer = done.drawer is not None and done.drawer.done
        self._printed = done.receipt.done

    def _snapshot(self) -> SaleResult:
        p = self._priced
        status: SaleOutcome = (
            self._state if self._state in ("completed", "abandoned", "failed") else "open"
        )
        return SaleResult(
            sale_id=self._number,
            workflow_id=workflow.info().workflow_id,
            status=status,
            currency=p.currency if p else "",
            lines=p.lines if p else (),
            subtotal=p.subtotal if p else 0,
            tax_total=p.tax_total if p else 0,
            total=p.total if p else 0,
            tenders=tuple(self._taken),
            change_due=self._book.change,
            warnings=self._warnings,
            sold_at=self._sold_at,
            due=self._book.due,
            declines=tuple(self._declines),
            gift_cards=self._gift_cards,
            approval_needed=p.approval_needed if p and self._state == "approval" else (),
            discount_total=sum(c.amount for c in p.adjustments) if p else 0,
            promotions=p.promotions if p else (),
            promotion_total=p.promotion_total if p else 0,
            approved_by=self._approval.manager_name
            if self._approval and self._approved_by is not None
            else "",
            fiscal_status=self._fiscal.status if self._fiscal else "",
        )

    def _settled_or_answered(self, seen: int) -> bool:
        return self._answers > seen or self._error is not None

    async def _answer(self, seen: int) -> SaleResult:
        await workflow.wait_condition(lambda: self._settled_or_answered(seen))
        if self._error is not None:
            raise self._error
        return self._snapshot()

    @workflow.update(name=CHECKOUT_UPDATE)
    async def checkout(self) -> SaleResult:
        """Answer the till: paid in full, or open with what is still due and why a tender failed."""
        return await self._answer(0)

    @workflow.update(name=ADD_TENDERS_UPDATE)
    async def add_tenders(self, more: AddTenders) -> SaleResult:
        """Another tender (or several) for a sale that is open."""
        seen = self._answers
        self._pending.extend(more.tenders)
        return await self._answer(seen)

    @add_tenders.validator
    def _validate_add(self, more: AddTenders) -> None:
        if self._state != "open":
            raise to_failure(
                Conflict(f"This sale is {self._snapshot().status}; it takes no more tenders.")
            )
        if not more.tenders:
            raise to_failure(InvalidRequest("Give at least one tender."))

    @workflow.update(name=ABANDON_UPDATE)
    async def abandon(self) -> SaleResult:
        """The customer walks away: authorizations voided, balances and stock restored."""
        seen = self._answers
        self._abandon = True
        return await self._answer(seen)

    @workflow.update(name=APPROVE_UPDATE)
    async def approve(self, approval: Approval) -> SaleResult:
        """A manager's decision on the sale's discounts, given at the cashier's till (the API
        checked the staff code and PIN): approved, the sale goes on to its tenders."""
        seen = self._answers
        self._approval = approval
        return await self._answer(seen)

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        if self._state != "approval" or self._approval is not None:
            raise to_failure(Conflict("This sale is not waiting for a manager's approval."))

    @abandon.validator
    def _validate_abandon(self) -> None:
        if self._state not in ("open", "approval"):
            raise to_failure(
                Conflict(
                    f"Only an open sale can be abandoned; this one is {self._snapshot().status}."
                )
            )

    @workflow.signal(name=PAYMENT_EVENT_SIGNAL)
    def payment_event(self, event: PaymentEvent) -> None:
        """Stripe told us about one of our intents; kept in history for ops and reconciliation."""
        self._provider_events.append(event)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> SaleStatus:
        """Where the sale is: for ops and for the till's status line."""
        return SaleStatus(
            workflow_id=workflow.info().workflow_id,
            step=self._state,
            settled=self._state == "completed",
            compensating=self._compensating,
            receipt_printed=self._printed,
            drawer_opened=self._drawer,
            error=self._error.message if self._error else "",
            due=self._book.due,
        )


def _points_refusal(req: SaleRequest, tender: TenderIn) -> str:
    """Why a points tender cannot pay this sale ("" when it may): only the sale's own customer's
    points, and never offline (the till refuses it; a journal holding one is declined here)."""
    if not workflow.patched(POINTS_TENDER_PATCH):
        return "Tender 'points' is not accepted."  # what histories before the patch decided
    if req.offline:
        return "Points cannot be redeemed offline."
    if req.customer_id is None or tender.reference != str(req.customer_id):
        return "Points pay only for the sale's own customer: attach the customer to the sale first."
    return ""
