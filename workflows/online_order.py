"""The online order saga: map → route → reserve (release) → payment (void / refund) → one fulfilment
child per location → consume stock and capture → complete → tell the web store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.online_order import OnlineOrderActivities
    from activities.online_payments import OnlinePaymentActivities
    from activities.tenders import TenderActivities
    from activities.web_store_notices import WebStoreNoticeActivities
    from contracts.common import FULFILMENT_TASK_QUEUE
    from contracts.errors import as_workflow_failure, failure_message, from_failure, to_failure
    from contracts.fulfilment import (
        ADD_LINES_SIGNAL,
        BOPIS_WORKFLOW,
        SHIP_WORKFLOW,
        WITHDRAW_LINES_SIGNAL,
        FulfilmentLine,
        FulfilmentLines,
        FulfilmentRequest,
        FulfilmentResult,
        fulfilment_workflow_id,
    )
    from contracts.online import (
        CHECKOUT_UPDATE,
        ONLINE_ORDER_WORKFLOW,
        PAYMENT_EVENT_SIGNAL,
        RETRY_SIGNAL,
        STATUS_QUERY,
        STOCK_TAKEN_SIGNAL,
        WEB_STORE_EVENT_SIGNAL,
        Accepted,
        AcceptRequest,
        CheckoutAnswer,
        ConsumeRequest,
        ExceptionRequest,
        Move,
        OnlineOrderRequest,
        OrderRef,
        OrderState,
        OrderStatus,
        PaymentCheck,
        PaymentRequest,
        PaymentState,
        PlacedLine,
        RefundLine,
        ReserveRequest,
        ResourceRequest,
        RouteRequest,
        ShipToStorePlan,
        StatusNotice,
        StatusRequest,
        StockTaken,
        StoreRefundRequest,
        TransferLink,
        WebStoreEvent,
    )
    from contracts.sale import PaymentEvent, SaleMoney
    from contracts.transfer import (
        TRANSFER_WORKFLOW,
        TransferLineIn,
        TransferRequest,
        TransferView,
        transfer_workflow_id,
    )
    from domain.errors import Conflict, NotFound, OutOfStock
    from workflows.loyalty_steps import earn_points
    from workflows.policies import COMPENSATION, NETWORK_STEP, STEP
    from workflows.saga import Saga

# A web store that is down is retried for a day; its order stands regardless.
WEB_STORE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(hours=24),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
    ),
}
EXCEPTION_HOLD = timedelta(days=30)  # an order in the exception queue waits this long for a person
POINTS_PATCH = "online-order-points"  # before it, storefront orders never paid with points
# Endless aisle (issue 19): an order a till sold (source "store") answers the till at once, and
# has no web store to tell. Only such orders take these paths; the marker records that they did.
STORE_SOURCE_PATCH = "online-order-store-source"
PAYMENT_POLL = timedelta(seconds=60)  # between looks at the intent when no webhook arrives
ROUTE_ATTEMPTS = 3  # route + reserve again when the stock moved between the two
DONE = ("picked_up", "shipped")
PAID = (
    "paid",
    "partially_paid",
    "partially_refunded",
)  # money the web store took and has not given back


class _Cancelled(Exception):
    """The order is called off; `ours` when we decided it (the web store is then told)."""

    def __init__(self, ours: bool = False) -> None:
        super().__init__()
        self.ours = ours


class _GaveUp(Exception):
    pass


def _from_till(req: OnlineOrderRequest) -> bool:
    """A till's ship-to-home order (issue 19): no web store behind it."""
    return req.source == "store" and workflow.patched(STORE_SOURCE_PATCH)


# Outside the sandbox (issue 21), as the Sale: the sandbox re-imports this module and builds its
# glue for every order it runs or replays, milliseconds of CPU each in a webhook storm. The module
# keeps to the house rules on its own (no I/O, clocks or randomness: workflow.now() only); the
# recorded histories in tests/histories replay it as it runs.
@workflow.defn(name=ONLINE_ORDER_WORKFLOW, sandboxed=False)
class OnlineOrderWorkflow:
    """One order from a web store or our storefront, from routing to the web store's last update."""

    @workflow.init
    def __init__(self, req: OnlineOrderRequest) -> None:
        self._req = req
        # Set here, before any signal is applied: a signal-with-start's event must not be undone by
        # run().
        self._version = req.version_us
        self._cancel = req.order.cancelled
        self._financial_status = req.order.financial_status
        self._status: OrderStatus = "received"
        self._number = ""
        self._total = 0
        self._lines: tuple[PlacedLine, ...] = ()
        self._accepted: Accepted | None = None
        self._payment: PaymentState | None = None
        self._payment_events = 0
        self._retries = 0
        self._ignored = 0
        self._taken: list[StockTaken] = []
        self._answered = False
        self._error: ApplicationError | None = None
        self._compensating = False
        self._message = ""
        self._children: dict[str, workflow.ChildWorkflowHandle[Any, FulfilmentResult]] = {}
        self._child_locations: dict[str, int] = {}  # child's location code -> location id
        self._results: dict[str, FulfilmentResult] = {}
        self._handled: set[str] = set()
        # Ship-to-store: the plan while its Transfer is to come, and whether one was tried.
        self._ship: ShipToStorePlan | None = None
        self._shipped_to_store = False

    # ---- the saga ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, req: OnlineOrderRequest) -> OrderState:
        saga = Saga()
        try:
            accepted = await self._accept_and_reserve(req, saga)
            if req.source == "web":
                wf = workflow.info().workflow_id
                saga.push(TenderActivities.void_all, SaleMoney(workflow_id=wf), **COMPENSATION)
                self._payment = await workflow.execute_activity_method(
                    OnlinePaymentActivities.authorize,
                    PaymentRequest(
                        workflow_id=wf,
                        amount=accepted.total,
                        currency=accepted.currency,
                        store_code=req.store_code,
                        payment_method=req.payment_method,
                        # Points go first (void_all above gives them back); the card the rest.
                        points=req.points
                        if req.points is not None and workflow.patched(POINTS_PATCH)
                        else None,
                    ),
                    **NETWORK_STEP,
                )
                self._status = "accepted" if self._payment.authorized else "awaiting_payment"
                if (
                    self._payment.message
                ):  # declined: the customer may try another card on the same intent
                    self._message = f"Card declined: {self._payment.message}"
                self._answered = True
                await self._await_payment(req)
            self._answered = True
            if self._status != "fulfilling":
                await self._set_status("fulfilling")
            if self._ship is not None:
                await self._await_transfer(req, accepted, saga)
                accepted = await self._accept_and_reserve(req, saga)  # what arrived is held
            await self._fulfil(req, accepted)
            await self._complete(req)
        except _Cancelled as cancelled:
            await self._compensate(saga)
            await self._after_cancel(req, cancelled.ours)
        except asyncio.CancelledError:
            # Cancelled from outside (ops in the Temporal UI): undo it as the web store's own
            # cancellation would, tell the web store, and end the workflow as cancelled.
            self._message = self._message or "Cancelled by an operator."
            await self._compensate(saga)
            await self._after_cancel(req, ours=True)
            raise
        except _GaveUp:
            self._answered = True
        except (ActivityError, ApplicationError, ChildWorkflowError) as err:
            self._error = as_workflow_failure(err)
            self._message = self._error.message
            await self._compensate(saga)
            self._status = "failed"
            if self._number:
                await self._set_status("failed")
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise self._error from err
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self.status()

    async def _accept_and_reserve(self, req: OnlineOrderRequest, saga: Saga) -> Accepted:
        """Map and route until it works; an order that cannot go through waits in the exception
        queue."""
        wf = workflow.info().workflow_id
        while True:
            self._check_cancel()
            accepted = self._accepted = await workflow.execute_local_activity_method(
                OnlineOrderActivities.accept,
                AcceptRequest(
                    workflow_id=wf,
                    request=req,
                    placed_at=workflow.now(),
                    retry=self._status == "exception",
                ),
                **STEP,
            )
            self._total = accepted.total
            if accepted.ok:
                self._number = accepted.order_number
                if not saga:
                    saga.push(
                        OnlineOrderActivities.release,
                        OrderRef(workflow_id=wf),
                        local=True,
                        **COMPENSATION,
                    )
                problem = await self._route_and_reserve(req, accepted)
                if problem is None:
                    return accepted
            else:
                problem = "; ".join(accepted.problems)
            if req.source == "web" or _from_till(req):  # the customer hears it at checkout
                raise to_failure(Conflict(problem) if accepted.ok else NotFound(problem))
            self._status, self._message, self._answered = "exception", problem, True
            if accepted.ok:
                await self._set_status("exception")
            seen = self._retries
            if not await self._wait(lambda: self._retries != seen, EXCEPTION_HOLD):  # noqa: B023 - awaited here
                raise _GaveUp()

    async def _route_and_reserve(self, req: OnlineOrderRequest, accepted: Accepted) -> str | None:
        wf = workflow.info().workflow_id
        o = req.order
        for _ in range(ROUTE_ATTEMPTS):
            routed = await workflow.execute_local_activity_method(
                OnlineOrderActivities.route,
                RouteRequest(
                    workflow_id=wf,
                    lines=accepted.lines,
                    location_ids=accepted.location_ids,
                    pickup_location_id=accepted.pickup_location_id,
                    country=o.country,
                    latitude=o.latitude,
                    longitude=o.longitude,
                    cart_id=req.cart_id,
                    allow_split=req.allow_split,
                    stores_first=req.stores_first,
                ),
                **STEP,
            )
            if not routed.ok and self._may_ship_to_store(req, accepted):
                try:
                    if await self._plan_ship_to_store(req, accepted):
                        return None
                except (ActivityError, ApplicationError) as err:
                    if not isinstance(from_failure(err), OutOfStock):
                        raise
                    continue  # the store's own units moved meanwhile: route again
            if not routed.ok:
                if req.source != "web" and not _from_till(req):
                    for short in routed.shortfalls:
                        await self._exception(
                            "no_stock",
                            routed.message,
                            short.sku,
                            {
                                "wanted": short.wanted,
                                "available": short.available,
                                "reason": short.reason,
                            },
                        )
                return routed.message
            try:
                # A web store's order goes straight on to fulfilment: its status changes with the
                # holds.
                held_status: OrderStatus | Literal[""] = "" if req.source == "web" else "fulfilling"
                self._lines = await workflow.execute_local_activity_method(
                    OnlineOrderActivities.reserve,
                    ReserveRequest(
                        workflow_id=wf, lines=routed.lines, cart_id=req.cart_id, status=held_status
                    ),
                    **STEP,
                )
                if held_status:
                    self._status = "fulfilling"
                return None
            except (ActivityError, ApplicationError) as err:
                if not isinstance(from_failure(err), OutOfStock):
                    raise
                # Someone took the stock between routing and reserving: route again with fresh
                # numbers.
        return "The stock kept moving while this order was being placed; please try again."

    # ---- ship-to-store: a pickup its store cannot fill comes there by transfer -----------------

    def _may_ship_to_store(self, req: OnlineOrderRequest, accepted: Accepted) -> bool:
        return (
            req.ship_to_store
            and accepted.pickup_location_id is not None
            and not self._shipped_to_store
        )

    async def _plan_ship_to_store(self, req: OnlineOrderRequest, accepted: Accepted) -> bool:
        """Hold what the pickup store has and plan a transfer of the rest (once per order)."""
        wf = workflow.info().workflow_id
        plan = await workflow.execute_local_activity_method(
            OnlineOrderActivities.plan_ship_to_store,
            RouteRequest(
                workflow_id=wf,
                lines=accepted.lines,
                location_ids=accepted.location_ids,
                pickup_location_id=accepted.pickup_location_id,
                cart_id=req.cart_id,
            ),
            **STEP,
        )
        if not plan.ok:
            return False
        held_status: OrderStatus | Literal[""] = "" if req.source == "web" else "fulfilling"
        self._lines = await workflow.execute_local_activity_method(
            OnlineOrderActivities.reserve,
            ReserveRequest(
                workflow_id=wf, lines=plan.held, cart_id=req.cart_id, status=held_status
            ),
            **STEP,
        )
        if held_status:
            self._status = "fulfilling"
        self._ship, self._shipped_to_store = plan, True
        self._message = (
            f"Coming to {plan.destination_code} from {plan.source_code} by transfer "
            f"{self._transfer_id()}."
        )
        return True

    def _transfer_id(self) -> str:
        return f"STS-{self._number}"

    async def _await_transfer(
        self, req: OnlineOrderRequest, accepted: Accepted, saga: Saga
    ) -> None:
        """Start the Transfer (cancelled with the order while it is not picked) and wait for it:
        what arrives is held for this order at the pickup store as it is received."""
        plan = self._ship
        assert plan is not None
        wf = workflow.info().workflow_id
        tid = self._transfer_id()
        saga.push(
            OnlineOrderActivities.drop_transfer,
            TransferLink(order_workflow_id=wf, transfer_id=tid),
            **COMPENSATION,
        )
        handle = await workflow.start_child_workflow(
            TRANSFER_WORKFLOW,
            TransferRequest(
                transfer_id=tid,
                source_location_id=plan.source_location_id,
                source_code=plan.source_code,
                destination_location_id=plan.destination_location_id,
                destination_code=plan.destination_code,
                lines=tuple(TransferLineIn(sku=sku, quantity=q) for sku, q in plan.transfer),
                requested_by=None,
                note=f"Ship to store: pickup order {self._number}",
                order_workflow_id=wf,
            ),
            id=transfer_workflow_id(tid),
            task_queue=accepted.transfer_queue,
            result_type=TransferView,
            # The goods may be on the road: the transfer outlives an order that ends, and the
            # order's compensation cancels it while it can still be cancelled.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        ended: list[str] = []

        async def watch() -> None:
            try:
                view = await handle
                ended.append(view.state)
            except ChildWorkflowError as err:
                self._message = f"The transfer {tid} failed: {failure_message(err)}"
                ended.append("failed")

        asyncio.create_task(watch())  # noqa: RUF006 - the outcome lands in `ended`
        await self._wait(lambda: bool(ended), None)
        self._ship = None
        if ended[0] == "received":
            self._message = ""
        elif ended[0] == "cancelled":
            self._message = f"The transfer {tid} to {plan.destination_code} was cancelled."

    async def _await_payment(self, req: OnlineOrderRequest) -> None:
        """The storefront confirms the card with Stripe.js; Stripe's webhook (or a periodic look)
        tells us."""
        assert self._payment is not None
        wf = workflow.info().workflow_id
        deadline = workflow.now() + timedelta(seconds=req.payment_timeout_s)
        while not self._payment.authorized:
            remaining = deadline - workflow.now()
            if remaining <= timedelta(0):
                self._message = (
                    f"Not paid within {req.payment_timeout_s // 60} minutes; "
                    "the order was cancelled."
                )
                raise _Cancelled(ours=True)
            seen = self._payment_events
            await self._wait(lambda: self._payment_events != seen, min(remaining, PAYMENT_POLL))  # noqa: B023
            self._payment = await workflow.execute_activity_method(
                OnlinePaymentActivities.payment_status, PaymentCheck(workflow_id=wf), **NETWORK_STEP
            )
        self._status = "accepted"
        await self._set_status("accepted")

    async def _fulfil(self, req: OnlineOrderRequest, accepted: Accepted) -> None:
        """One child per location; wait for all of them, re-sourcing and re-routing as needed."""
        for code in sorted({ln.location_code for ln in self._lines}):
            await self._start_child(req, code)
        while True:
            await self._wait(lambda: bool(set(self._results) - self._handled), None)
            for code in sorted(set(self._results) - self._handled):
                self._handled.add(code)
                result = self._results[code]
                if result.status == "rejected":
                    await self._reroute_from(req, code, result.message)
                elif result.status not in (*DONE, "withdrawn"):
                    self._message = (
                        result.message or f"Fulfilment at {code} ended: {result.status}."
                    )
                    raise _Cancelled(ours=True)
            held = {ln.location_code for ln in self._lines}
            if held and all(
                self._results.get(c) is not None and self._results[c].status in DONE for c in held
            ):
                return

    async def _complete(self, req: OnlineOrderRequest) -> None:
        wf = workflow.info().workflow_id
        for loc_id in sorted({ln.location_id for ln in self._lines}):
            await workflow.execute_local_activity_method(
                OnlineOrderActivities.consume,
                ConsumeRequest(workflow_id=wf, location_id=loc_id, occurred_at=workflow.now()),
                **STEP,
            )
        if req.source == "web":
            await workflow.execute_activity_method(
                TenderActivities.capture_cards, SaleMoney(workflow_id=wf), **NETWORK_STEP
            )
        self._status = "completed"
        await self._set_status("completed")
        await earn_points()  # the goods have left: the customer's points
        done = [r for r in self._results.values() if r.status in DONE]
        tracked = next((r for r in done if r.tracking_number), None)
        status = "picked_up" if req.order.pickup_location else "shipped"
        await self._tell(req, status, tracked)

    # ---- cancellation ------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self._cancel:
            raise _Cancelled()

    async def _compensate(self, saga: Saga) -> None:
        self._compensating = True
        running = [code for code in self._children if code not in self._results]
        for code in running:
            self._children[code].cancel()  # a request: the child winds down its own work
        if running:
            await workflow.wait_condition(lambda: all(c in self._results for c in running))
        await saga.compensate()

    async def _after_cancel(self, req: OnlineOrderRequest, ours: bool) -> None:
        """Cancelled: stock given back, card voided (web); refund through the web store if it has
        not."""
        wf = workflow.info().workflow_id
        self._status, self._answered = "cancelled", True
        self._message = self._message or "Cancelled by the web store."
        if self._number:
            await self._set_status("cancelled")
        if req.source == "web" or _from_till(req):
            return
        if self._financial_status in PAID and self._total > 0:
            lines = tuple(
                RefundLine(line_id=ln.external_line_id, quantity=ln.quantity, amount=ln.gross)
                for ln in (self._accepted.lines if self._accepted else ())
                if ln.external_line_id
            )
            try:
                await workflow.execute_activity_method(
                    WebStoreNoticeActivities.refund,
                    StoreRefundRequest(
                        store_code=req.store_code,
                        order_external_id=req.order.external_id,
                        amount=self._total,
                        currency=req.order.currency,
                        key=f"{wf}:cancel",
                        lines=lines,
                        reason="Order cancelled",
                    ),
                    **WEB_STORE,
                )
            except ActivityError as err:
                await self._exception(
                    "refund_failed", f"Refund through the web store failed: {failure_message(err)}"
                )
        if ours:
            await self._tell(req, "cancelled", None)

    # ---- re-sourcing ---------------------------------------------------------------------------

    async def _wait(self, done: Callable[[], bool], timeout: timedelta | None) -> bool:
        """Wait for `done`, handling cancellation and till sales of our stock meanwhile; False on
        timeout."""
        while True:
            try:
                await workflow.wait_condition(
                    lambda: done() or self._cancel or bool(self._taken), timeout=timeout
                )
            except TimeoutError:
                self._check_cancel()
                return False
            self._check_cancel()
            if self._taken:
                await self._resource_taken()
                continue
            return True

    async def _resource_taken(self) -> None:
        req = self._req
        wf = workflow.info().workflow_id
        assert self._accepted is not None
        while self._taken:
            t = self._taken.pop(0)
            out = await workflow.execute_local_activity_method(
                OnlineOrderActivities.resource,
                ResourceRequest(
                    workflow_id=wf,
                    location_id=t.location_id,
                    sku=t.sku,
                    location_ids=self._accepted.location_ids,
                    pickup=bool(req.order.pickup_location),
                    country=req.order.country,
                    latitude=req.order.latitude,
                    longitude=req.order.longitude,
                    stores_first=req.stores_first,
                    exclude=self._finished(),
                ),
                **STEP,
            )
            self._lines = out.lines
            if out.short:
                await self._exception(
                    "stock_taken",
                    f"A till sold {out.short} of {t.sku} held for this order "
                    "and no other location has it.",
                    t.sku,
                    {"sale": t.sale_workflow_id},
                )
            if self._children:
                await self._move_children(req, out.moves)

    async def _reroute_from(self, req: OnlineOrderRequest, code: str, why: str) -> None:
        """A store rejected its part: move every unit held there to other locations, or cancel."""
        wf = workflow.info().workflow_id
        assert self._accepted is not None
        there = [ln for ln in self._lines if ln.location_code == code]
        done = self._finished()
        moves: list[Move] = []
        for ln in there:
            # pickup=False: a store that cannot fill a pickup (shortage at pick time) hands it to
            # another store, whose Bopis tells the customer where it is ready, instead of cancelling
            # the order.
            out = await workflow.execute_local_activity_method(
                OnlineOrderActivities.resource,
                ResourceRequest(
                    workflow_id=wf,
                    location_id=ln.location_id,
                    sku=ln.sku,
                    location_ids=self._accepted.location_ids,
                    pickup=False,
                    country=req.order.country,
                    latitude=req.order.latitude,
                    longitude=req.order.longitude,
                    stores_first=req.stores_first,
                    exclude=(*done, ln.location_id),
                    everything=True,
                ),
                **STEP,
            )
            self._lines = out.lines
            moves += out.moves
            if out.short:
                self._message = (
                    f"{code} could not fulfil ({why}) and no other location has {ln.sku}."
                )
                raise _Cancelled(ours=True)
        await self._move_children(req, tuple(moves))

    def _finished(self) -> tuple[int, ...]:
        """Locations whose child has ended: nothing is moved there."""
        return tuple(sorted(self._child_locations[c] for c in self._results))

    async def _move_children(self, req: OnlineOrderRequest, moves: tuple[Move, ...]) -> None:
        started: set[str] = (
            set()
        )  # a child started now gets every line held there, moved ones included
        for m in moves:
            line = FulfilmentLines(lines=(FulfilmentLine(sku=m.sku, quantity=m.quantity),))
            src, dst = m.from_location_code, m.to_location_code
            if src in self._children and src not in self._results:
                await self._children[src].signal(WITHDRAW_LINES_SIGNAL, line)
            if dst in started:
                continue
            if dst in self._children and dst not in self._results:
                await self._children[dst].signal(ADD_LINES_SIGNAL, line)
            else:
                await self._start_child(req, dst)
                started.add(dst)

    async def _start_child(self, req: OnlineOrderRequest, code: str) -> None:
        wf = workflow.info().workflow_id
        kind = BOPIS_WORKFLOW if req.order.pickup_location else SHIP_WORKFLOW
        lines = [ln for ln in self._lines if ln.location_code == code]
        if not lines:
            return
        handle = await workflow.start_child_workflow(
            kind,
            FulfilmentRequest(
                order_workflow_id=wf,
                order_number=self._number,
                location_id=lines[0].location_id,
                location_code=code,
                lines=tuple(FulfilmentLine(sku=ln.sku, quantity=ln.quantity) for ln in lines),
                customer_name=req.order.customer_name,
                email=req.order.email,
                country=req.order.country,
            ),
            id=fulfilment_workflow_id(kind, wf, code),
            task_queue=self._accepted.fulfilment_queue if self._accepted else FULFILMENT_TASK_QUEUE,
            result_type=FulfilmentResult,
        )
        self._children[code] = handle
        self._child_locations[code] = lines[0].location_id
        self._results.pop(code, None)
        self._handled.discard(code)
        asyncio.create_task(self._watch(code, handle))  # noqa: RUF006 - the result lands in self._results

    async def _watch(
        self, code: str, handle: workflow.ChildWorkflowHandle[Any, FulfilmentResult]
    ) -> None:
        try:
            self._results[code] = await handle
        except ChildWorkflowError as err:
            self._results[code] = FulfilmentResult(status="failed", message=failure_message(err))
        except asyncio.CancelledError:
            self._results[code] = FulfilmentResult(
                status="cancelled", message="cancelled with the order"
            )

    # ---- small steps ---------------------------------------------------------------------------

    async def _set_status(self, status: OrderStatus) -> None:
        self._status = status
        await workflow.execute_local_activity_method(
            OnlineOrderActivities.set_status,
            StatusRequest(workflow_id=workflow.info().workflow_id, status=status),
            **STEP,
        )

    async def _exception(
        self, kind: str, reason: str, sku: str = "", detail: dict[str, Any] | None = None
    ) -> None:
        r = self._req
        await workflow.execute_local_activity_method(
            OnlineOrderActivities.raise_exception,
            ExceptionRequest(
                workflow_id=workflow.info().workflow_id,
                source=r.source,
                store_code=r.store_code,
                external_id=r.order.external_id,
                kind=kind,
                reason=reason,
                sku=sku,
                detail=detail or {},
            ),
            **STEP,
        )

    async def _tell(
        self, req: OnlineOrderRequest, status: str, tracked: FulfilmentResult | None
    ) -> None:
        if req.source == "web" or _from_till(req):
            return  # our storefront (or the till) reads the order's status from the API
        notice = StatusNotice(
            store_code=req.store_code,
            order_external_id=req.order.external_id,
            status=status,
            key=f"{workflow.info().workflow_id}:status:{status}",
            tracking_number=tracked.tracking_number if tracked else "",
            carrier=tracked.carrier if tracked else "",
            tracking_url=tracked.tracking_url if tracked else "",
        )
        try:
            await workflow.execute_activity_method(
                WebStoreNoticeActivities.update_order_status, notice, **WEB_STORE
            )
        except ActivityError as err:
            await self._exception(
                "web_store_update",
                f"Telling the web store '{status}' failed: {failure_message(err)}",
            )

    # ---- handlers --------------------------------------------------------------------------------

    def _answer(self) -> CheckoutAnswer:
        p = self._payment
        return CheckoutAnswer(
            workflow_id=workflow.info().workflow_id,
            order_number=self._number,
            status=self._status,
            currency=self._req.order.currency,
            total=self._total,
            payment_intent=p.intent_id if p else "",
            client_secret=p.client_secret if p else "",
            payment_status=p.status if p else "",
            lines=self._lines,
            message=self._message,
            points_paid=p.points_amount if p else 0,
        )

    @workflow.update(name=CHECKOUT_UPDATE)
    async def checkout(self) -> CheckoutAnswer:
        """The storefront's answer: the order, where it is held, and the PaymentIntent's client
        secret."""
        await workflow.wait_condition(lambda: self._answered or self._error is not None)
        if self._error is not None:
            raise self._error
        return self._answer()

    @workflow.signal(name=WEB_STORE_EVENT_SIGNAL)
    def web_store_event(self, event: WebStoreEvent) -> None:
        """A later delivery from the web store; one older than what we have is ignored."""
        if event.version_us < self._version:
            self._ignored += 1
            return
        self._version = event.version_us
        if event.financial_status:
            self._financial_status = event.financial_status
        if event.cancelled:
            self._cancel = True  # final: a later "not cancelled" never revives the order

    @workflow.signal(name=STOCK_TAKEN_SIGNAL)
    def stock_taken(self, taken: StockTaken) -> None:
        """A till sold units this order held; re-source them."""
        self._taken.append(taken)

    @workflow.signal(name=PAYMENT_EVENT_SIGNAL)
    def payment_event(self, event: PaymentEvent) -> None:
        """Stripe told us about the order's PaymentIntent: look at it now."""
        self._payment_events += 1

    @workflow.signal(name=RETRY_SIGNAL)
    def retry(self) -> None:
        """A person fixed the catalogue or the stock: map and route the order again."""
        self._retries += 1

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OrderState:
        """Where the order is, for the storefront and ops."""
        return OrderState(
            workflow_id=workflow.info().workflow_id,
            status=self._status,
            order_number=self._number,
            lines=self._lines,
            version_us=self._version,
            compensating=self._compensating,
            message=self._message,
            children=tuple(sorted(self._children)),
        )

    @workflow.query
    def ignored_events(self) -> int:
        """Deliveries older than the state we had, and so not applied."""
        return self._ignored
