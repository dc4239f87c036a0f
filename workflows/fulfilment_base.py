"""What Bopis and ShipFromStore share: the lines a location owes its order, the pick step with its
SLA, staff claims, shortages and rejections, and the parent's `add_lines` / `withdraw_lines`
signals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.fulfilment import FulfilmentActivities, NoticeActivities
    from contracts.common import CHANNEL_KEY, ORDER_KEY, STORE_KEY
    from contracts.errors import as_workflow_failure, to_failure
    from contracts.fulfilment import (
        ADD_LINES_SIGNAL,
        CLAIM_UPDATE,
        LINES_QUERY,
        PICK,
        REJECT_UPDATE,
        REPORT_PICKED_UPDATE,
        REPORT_SHORTAGE_UPDATE,
        STATUS_QUERY,
        WITHDRAW_LINES_SIGNAL,
        AmendTask,
        CancelTasks,
        ClaimCmd,
        ClaimTask,
        CloseTask,
        Escalation,
        FulfilmentLine,
        FulfilmentLines,
        FulfilmentPhase,
        FulfilmentRequest,
        FulfilmentResult,
        FulfilmentState,
        OpenTask,
        PickReport,
        Rejection,
        Setup,
        ShortageCmd,
        ShortageReport,
        Staff,
        TaskOutcome,
        TaskRef,
    )
    from contracts.notices import Notice
    from domain.errors import Conflict, DomainError
    from domain.picking import Scan, check_pick, check_shortage
    from workflows.saga import Saga

FINAL = ("collected", "expired", "shipped", "rejected", "withdrawn", "cancelled")
# People work at their own pace: background steps retry until they succeed (each is idempotent).
TASK_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
# Someone is waiting for the answer: give up after a while so they see an error, not a spinner.
ANSWER_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(seconds=30),
}


class FulfilmentBase:
    """State and handlers common to both fulfilment workflows (each subclass is its own workflow
    type)."""

    KIND = ""

    def __init__(self, req: FulfilmentRequest) -> None:
        self._req = req
        self._setup: Setup | None = None
        self._lines: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self._add(req.lines)
        self._picked: dict[str, int] = {}
        self._phase: FulfilmentPhase = "picking"
        self._tasks: dict[str, TaskRef] = {}  # the open task of each kind
        self._current = ""  # the kind staff act on now
        self._seq = 0
        self._pick_event: tuple[str, Any] | None = None  # picked | short | rejected, from an update
        self._changes = 0  # the parent moved lines in or out
        self._handled = 0  # the run loop finished acting on an update (its caller waits for this)
        self._idle = False  # the run loop waits for people or time (nothing in flight)
        self._escalated = False
        self._escalations: set[int] = set()  # pick tasks flagged past their SLA
        self._short: tuple[FulfilmentLine, ...] = ()
        self._message = ""

    # ---- the shared run: the saga around each subclass's own steps -----------------------------

    async def _run_saga(
        self, body: Callable[[Saga], Awaitable[FulfilmentResult]]
    ) -> FulfilmentResult:
        """Run the subclass's steps; on cancellation (the order was called off) or failure, undo
        what this location holds, newest first: tasks come off the board last."""
        saga = Saga()
        saga.push(
            FulfilmentActivities.cancel_tasks,
            CancelTasks(workflow_id=self._wf, outcome="cancelled"),
            **TASK_STEP,
        )
        try:
            result = await body(saga)
        except BaseException as err:
            self._phase = "cancelled" if isinstance(err, asyncio.CancelledError) else "failed"
            await saga.compensate()
            raise
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return result

    # ---- lines ---------------------------------------------------------------------------------

    def _add(self, lines: tuple[FulfilmentLine, ...]) -> None:
        for ln in lines:
            self._lines[ln.sku] = self._lines.get(ln.sku, 0) + ln.quantity
            if ln.name:
                self._names[ln.sku] = ln.name

    def _owes(self) -> bool:
        return any(q > 0 for q in self._lines.values())

    def _todo(self) -> dict[str, int]:
        return {
            s: q - self._picked.get(s, 0)
            for s, q in sorted(self._lines.items())
            if q > self._picked.get(s, 0)
        }

    def _as_lines(self, counts: dict[str, int]) -> tuple[FulfilmentLine, ...]:
        return tuple(
            FulfilmentLine(sku=s, quantity=q, name=self._names.get(s, ""))
            for s, q in sorted(counts.items())
            if q > 0
        )

    def _trim(self) -> dict[str, int]:
        """Units picked beyond what is still owed (lines were withdrawn): they go back to the
        shelf."""
        extra = {
            s: q - self._lines.get(s, 0)
            for s, q in self._picked.items()
            if q > self._lines.get(s, 0)
        }
        for s, q in extra.items():
            self._picked[s] -= q
        return extra

    # ---- small steps -----------------------------------------------------------------------------

    @property
    def _wf(self) -> str:
        return workflow.info().workflow_id

    def _due(self, seconds: int) -> datetime:
        return workflow.now() + timedelta(seconds=seconds)

    async def _start(self) -> Setup:
        setup = self._setup = await workflow.execute_activity_method(
            FulfilmentActivities.setup, self._req, **TASK_STEP
        )
        self._names = {**setup.names, **self._names}
        if setup.search_attributes:
            # Ops find a store's pickups and shipments in the Temporal UI by store and order.
            workflow.upsert_search_attributes(
                [
                    STORE_KEY.value_set(self._req.location_code),
                    ORDER_KEY.value_set(self._req.order_workflow_id),
                    CHANNEL_KEY.value_set("fulfilment"),
                ]
            )
        return setup

    async def _create_task(
        self,
        kind: str,
        lines: dict[str, int],
        due_at: datetime,
        detail: dict[str, str] | None = None,
    ) -> TaskRef:
        self._seq += 1
        task = await workflow.execute_activity_method(
            FulfilmentActivities.open_task,
            OpenTask(
                key=f"{self._wf}:{kind}:{self._seq}",
                kind=kind,
                workflow_id=self._wf,
                request=self._req,
                lines=self._as_lines(lines),
                due_at=due_at,
                detail=detail or {},
            ),
            **TASK_STEP,
        )
        self._names.update({ln.sku: ln.name for ln in task.lines if ln.name})
        self._tasks[kind], self._current = task, kind
        return task

    async def _close(
        self,
        kind: str,
        outcome: TaskOutcome,
        staff: Staff | None = None,
        *,
        cancelled: bool = False,
        detail: dict[str, str] | None = None,
    ) -> None:
        task = self._tasks.pop(kind, None)
        if task is None:
            return
        await workflow.execute_activity_method(
            FulfilmentActivities.close_task,
            CloseTask(
                task_id=task.id,
                outcome=outcome,
                at=workflow.now(),
                user_id=staff.user_id if staff else None,
                cancelled=cancelled,
                detail=detail,
            ),
            **TASK_STEP,
        )

    async def _amend(self, kind: str, lines: dict[str, int]) -> None:
        task = self._tasks.get(kind)
        if task is None:
            return
        new = self._as_lines(lines)
        if new != task.lines:
            await workflow.execute_activity_method(
                FulfilmentActivities.amend_task, AmendTask(task_id=task.id, lines=new), **TASK_STEP
            )
            self._tasks[kind] = TaskRef(
                id=task.id, kind=task.kind, due_at=task.due_at, lines=new, status=task.status
            )

    async def _cancel_all(self, outcome: str) -> None:
        self._tasks.clear()
        await workflow.execute_activity_method(
            FulfilmentActivities.cancel_tasks,
            CancelTasks(workflow_id=self._wf, outcome=outcome, at=workflow.now()),
            **TASK_STEP,
        )

    async def _notify(self, kind: str, subject: str, body: str, **data: Any) -> None:
        r = self._req
        await workflow.execute_activity_method(
            NoticeActivities.send,
            Notice(
                key=f"{self._wf}:{kind}:{data.pop('version', 0)}",
                kind=kind,
                recipient=r.email,
                subject=subject,
                body=body,
                reference=self._wf,
                channel="email",
                data={"order": r.order_number, "store": r.location_code, **data},
            ),
            **TASK_STEP,
        )

    async def _until(self, done: Callable[[], bool], at: datetime | None) -> bool:
        """Wait for `done` until the instant `at` (None: for ever); False when the time came first.

        While waiting here the workflow is settled: updates answer with the state staff see next.
        """
        self._idle = True
        try:
            if at is None:
                await workflow.wait_condition(done)
                return True
            left = at - workflow.now()
            if left > timedelta(0):
                try:
                    await workflow.wait_condition(done, timeout=left)
                    return True
                except TimeoutError:
                    pass
            return done()
        finally:
            self._idle = False

    # ---- the pick step -------------------------------------------------------------------------

    async def _pick(self) -> str:
        """Get every unit this location still owes into hand: picked | short | rejected |
        withdrawn."""
        assert self._setup is not None
        while True:
            if not self._owes():
                return "withdrawn"
            todo = self._todo()
            if not todo:
                return "picked"
            self._phase = "picking"
            task = self._tasks.get(PICK) or await self._create_task(
                PICK, todo, self._due(self._setup.pick_sla_s)
            )
            self._current = PICK
            outcome = await self._work_pick(task)
            if outcome != "again":
                return outcome

    async def _work_pick(self, task: TaskRef) -> str:
        assert self._setup is not None
        seen = self._changes
        while True:
            due = None if self._escalated_task(task) else task.due_at
            if not await self._until(partial(self._pick_or_change, seen), due):
                await self._escalate(task)
                continue
            if self._pick_event is not None:
                event, self._pick_event = self._pick_event, None
                try:
                    return await self._settle_pick(*event)
                finally:
                    self._handled += 1
            seen = self._changes
            self._trim()
            if not self._owes():
                return "withdrawn"
            await self._amend(PICK, self._todo())

    def _pick_or_change(self, seen: int) -> bool:
        return self._pick_event is not None or self._changes != seen

    def _escalated_task(self, task: TaskRef) -> bool:
        return task.id in self._escalations

    async def _escalate(self, task: TaskRef) -> None:
        """Past the pick SLA: flag the task on the board and tell the store; an activity in the
        history."""
        assert self._setup is not None
        self._escalations.add(task.id)
        self._escalated = True
        await workflow.execute_activity_method(
            FulfilmentActivities.escalate,
            Escalation(
                task_id=task.id,
                workflow_id=self._wf,
                location_code=self._req.location_code,
                order_number=self._req.order_number,
                at=workflow.now(),
                minutes=self._setup.pick_sla_s // 60,
            ),
            **TASK_STEP,
        )

    async def _settle_pick(self, kind: str, payload: Any) -> str:
        r = self._req
        if kind == "picked":
            staff, got = payload
            todo = self._todo()
            for sku, qty in got.items():
                self._picked[sku] = self._picked.get(sku, 0) + min(qty, todo.get(sku, 0))
            await self._close(PICK, "picked", staff, detail={"picked_by": staff.name})
            return "again"  # lines added meanwhile get a pick of their own
        if kind == "short":
            report: ShortageReport = payload
            await workflow.execute_activity_method(
                FulfilmentActivities.record_shortage,
                ShortageCmd(
                    workflow_id=self._wf,
                    task_id=self._tasks[PICK].id,
                    location_id=r.location_id,
                    reference=r.order_workflow_id,
                    missing=report.missing,
                    at=workflow.now(),
                ),
                **TASK_STEP,
            )
            self._short = report.missing
            what = ", ".join(
                f"{ln.quantity} × {self._names.get(ln.sku, ln.sku)}" for ln in report.missing
            )
            self._message = f"{r.location_code} is short of {what}" + (
                f" ({report.note})" if report.note else ""
            )
            await self._close(
                PICK, "short", report.staff, detail={"short": what, "note": report.note}
            )
            return "short"
        rejection: Rejection = payload
        self._message = f"{r.location_code} rejected the order: {rejection.reason}"
        await self._close(PICK, "rejected", rejection.staff, detail={"reason": rejection.reason})
        return "rejected"

    def _rejected(self) -> FulfilmentResult:
        self._phase = "rejected"
        return FulfilmentResult(status="rejected", message=self._message, short=self._short)

    # ---- handlers --------------------------------------------------------------------------------

    def _require(self, task_id: int, *kinds: str) -> TaskRef:
        for kind in kinds or tuple(self._tasks):
            task = self._tasks.get(kind)
            if task is not None and task.id == task_id:
                return task
        raise to_failure(
            Conflict(
                f"Task {task_id} is not open for that (order {self._req.order_number} is "
                f"{self._phase})."
            )
        )

    async def _after(self, set_event: Callable[[], None]) -> FulfilmentState:
        """Hand an update's event to the run loop; answer once it has acted on it and settled
        again."""
        seen = self._handled
        set_event()
        await workflow.wait_condition(
            lambda: self._handled > seen and (self._idle or self._phase in FINAL)
        )
        return self.state()

    @workflow.update(name=CLAIM_UPDATE)
    async def claim(self, c: ClaimTask) -> FulfilmentState:
        """A member of staff takes the task (a manager may take it over from someone else)."""
        self._require(c.task_id)
        try:
            await workflow.execute_activity_method(
                FulfilmentActivities.claim,
                ClaimCmd(
                    task_id=c.task_id,
                    user_id=c.staff.user_id,
                    at=workflow.now(),
                    take_over=c.staff.role == "manager",
                ),
                **ANSWER_STEP,
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None
        return self.state()

    @claim.validator
    def _validate_claim(self, c: ClaimTask) -> None:
        self._require(c.task_id)

    @workflow.update(name=REPORT_PICKED_UPDATE)
    async def report_picked(self, r: PickReport) -> FulfilmentState:
        """The picker scanned what they took from the shelf: it must be exactly what the pick list
        says."""
        try:
            skus = await workflow.execute_activity_method(
                FulfilmentActivities.resolve_barcodes,
                tuple(s.barcode for s in r.scans),
                **ANSWER_STEP,
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None
        self._require(
            r.task_id, PICK
        )  # the list may have moved on while the barcodes were looked up
        try:
            got = check_pick(
                self._todo(),
                [
                    Scan(s.barcode, sku or None, s.quantity)
                    for s, sku in zip(r.scans, skus, strict=True)
                ],
                self._names,
                self._req.order_number,
            )
        except DomainError as err:
            raise to_failure(err) from None
        return await self._after(lambda: setattr(self, "_pick_event", ("picked", (r.staff, got))))

    @report_picked.validator
    def _validate_picked(self, r: PickReport) -> None:
        self._require(r.task_id, PICK)
        if self._pick_event is not None:
            raise to_failure(Conflict("This pick was reported already."))

    @workflow.update(name=REPORT_SHORTAGE_UPDATE)
    async def report_shortage(self, r: ShortageReport) -> FulfilmentState:
        """Some units are not on the shelf: the order is re-sourced from elsewhere (and on_hand
        corrected)."""
        try:
            check_shortage(self._todo(), {ln.sku: ln.quantity for ln in r.missing}, self._names)
        except DomainError as err:
            raise to_failure(err) from None
        return await self._after(lambda: setattr(self, "_pick_event", ("short", r)))

    @report_shortage.validator
    def _validate_shortage(self, r: ShortageReport) -> None:
        self._validate_picked(PickReport(task_id=r.task_id, staff=r.staff, scans=()))

    @workflow.update(name=REJECT_UPDATE)
    async def reject(self, r: Rejection) -> FulfilmentState:
        """The location cannot do it (no staff, damaged goods…): the order goes to another
        location."""
        return await self._after(lambda: setattr(self, "_pick_event", ("rejected", r)))

    @reject.validator
    def _validate_reject(self, r: Rejection) -> None:
        self._validate_picked(PickReport(task_id=r.task_id, staff=r.staff, scans=()))
        if not r.reason.strip():
            raise to_failure(DomainError("Say why the order cannot be done here."))

    @workflow.signal(name=ADD_LINES_SIGNAL)
    def add_lines(self, moved: FulfilmentLines) -> None:
        """The parent moved lines here from another location."""
        self._add(moved.lines)
        self._changes += 1

    @workflow.signal(name=WITHDRAW_LINES_SIGNAL)
    def withdraw_lines(self, moved: FulfilmentLines) -> None:
        """The parent moved lines away (a till sold them here, or they go elsewhere)."""
        for ln in moved.lines:
            self._lines[ln.sku] = max(0, self._lines.get(ln.sku, 0) - ln.quantity)
        self._changes += 1

    def _state(self, **more: Any) -> FulfilmentState:
        task = self._tasks.get(self._current)
        r = self._req
        return FulfilmentState(
            workflow_id=self._wf,
            kind=self.KIND,
            order_number=r.order_number,
            location_code=r.location_code,
            phase=self._phase,
            lines=self._as_lines(self._lines),
            picked=self._as_lines(self._picked),
            task_id=task.id if task else 0,
            task_kind=self._current if task else "",
            escalated=self._escalated,
            message=self._message,
            **more,
        )

    def state(self) -> FulfilmentState:
        return self._state()

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> FulfilmentState:
        """Where this fulfilment stands: phase, lines, the task to act on, deadline, parcels."""
        return self.state()

    @workflow.query(name=LINES_QUERY)
    def lines(self) -> dict[str, int]:
        """What this location still owes its order, per SKU."""
        return {k: v for k, v in self._lines.items() if v}
