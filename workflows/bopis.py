"""Buy online, pick up in store: pick → held for pickup + "ready" message with a code → hand-over
with the code until a deadline counted in opening hours (reminder before it, a manager may extend
it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.fulfilment import FulfilmentActivities
    from contracts.errors import as_workflow_failure, to_failure
    from contracts.fulfilment import (
        ARRIVED_UPDATE,
        BOPIS_WORKFLOW,
        CODE_DIGITS,
        EXTEND_UPDATE,
        HAND_OVER_UPDATE,
        HANDOVER,
        AmendTask,
        CurbsideArrival,
        Deadline,
        DeadlineRequest,
        ExtendCmd,
        Extension,
        FulfilmentRequest,
        FulfilmentResult,
        FulfilmentState,
        HandOver,
        HandOverCmd,
        HoldCmd,
        ReleaseCmd,
        pickup_barcode,
    )
    from domain.errors import Conflict, InvalidRequest
    from workflows.fulfilment_base import ANSWER_STEP, TASK_STEP, FulfilmentBase
    from workflows.saga import Saga

MAX_EXTENSION_DAYS = 14


@workflow.defn(name=BOPIS_WORKFLOW)
class BopisWorkflow(FulfilmentBase):
    """One order's pickup at one store, from the pick list to the customer's hands (or back to the
    shelf)."""

    KIND = BOPIS_WORKFLOW

    @workflow.init
    def __init__(self, req: FulfilmentRequest) -> None:
        super().__init__(req)
        self._code = ""
        self._ready_at: datetime | None = None
        self._deadline: Deadline | None = None
        self._version = 0  # of the deadline: each extension makes a new one
        self._reminded = -1  # the deadline version a reminder went out for
        self._extending = 0
        self._extensions = 0
        self._handover: HandOver | None = None
        self._wrong = 0
        self._locked = False
        self._bay = ""
        self._held: dict[str, int] = {}

    @workflow.run
    async def run(self, req: FulfilmentRequest) -> FulfilmentResult:
        return await self._run_saga(self._pickup)

    async def _pickup(self, saga: Saga) -> FulfilmentResult:
        await self._start()
        # Called off once units are held for the customer: they go back to the shelf.
        r = self._req
        saga.push(
            FulfilmentActivities.release_pickup,
            ReleaseCmd(reference=r.order_workflow_id, location_id=r.location_id),
            **TASK_STEP,
        )
        while True:
            outcome = await self._pick()
            if outcome in ("short", "rejected"):
                await self._cancel_all(outcome)
                return self._rejected()
            if outcome == "withdrawn":
                await self._give_back("withdrawn")
                self._phase = "withdrawn"
                return FulfilmentResult(status="withdrawn")
            await self._hold()
            outcome = await self._wait_for_customer()
            if outcome == "more":
                continue  # lines were added: pick them, then wait again
            if outcome == "collected":
                return await self._collected()
            if outcome == "withdrawn":
                await self._give_back("withdrawn")
                self._phase = "withdrawn"
                return FulfilmentResult(status="withdrawn")
            return await self._expired()

    # ---- held for pickup ---------------------------------------------------------------------

    async def _hold(self) -> None:
        """Picked units become the customer's pickup allocation; the first time, the customer hears
        it."""
        assert self._setup is not None
        r = self._req
        first = self._deadline is None
        if first:
            self._code = f"{workflow.random().randint(0, 10**CODE_DIGITS - 1):0{CODE_DIGITS}d}"
            self._ready_at = workflow.now()
            self._deadline = await workflow.execute_activity_method(
                FulfilmentActivities.pickup_deadline,
                DeadlineRequest(
                    location_id=r.location_id, start=self._ready_at, days=self._setup.hold_days
                ),
                **TASK_STEP,
            )
        assert self._deadline is not None
        await workflow.execute_activity_method(
            FulfilmentActivities.hold_for_pickup,
            HoldCmd(
                workflow_id=self._wf,
                reference=r.order_workflow_id,
                location_id=r.location_id,
                targets=dict(self._picked),
                expires_at=self._deadline.at,
            ),
            **TASK_STEP,
        )
        self._held = dict(self._picked)
        if HANDOVER in self._tasks:
            await self._amend(HANDOVER, self._held)
        else:
            await self._create_task(
                HANDOVER, self._held, self._deadline.at, {"deadline": self._deadline.local}
            )
        self._current, self._phase = HANDOVER, "ready"
        if first:
            s = self._setup
            await self._notify(
                "ready_for_pickup",
                f"Your order {r.order_number} is ready for pickup at {s.location_name}",
                f"Hello {r.customer_name or 'there'},\n\n"
                f"your order {r.order_number} is ready at {s.location_name}, "
                f"{s.location_address}.\n"
                f"Your pickup code: {self._code} (or show the barcode below).\n"
                f"Please collect it by {self._deadline.local} (opening hours: {s.hours}).\n"
                "Coming by car? Tell us your parking bay when you arrive and we bring it out.",
                code=self._code,
                barcode=pickup_barcode(r.order_number, self._code),
                deadline=self._deadline.at.isoformat(),
            )

    async def _wait_for_customer(self) -> str:
        """collected | expired | more (lines added) | withdrawn; reminds once per deadline on the
        way."""
        assert self._setup is not None and self._deadline is not None and self._ready_at is not None
        seen = self._changes
        while True:
            version, deadline = self._version, self._deadline
            remind_at = deadline.at - timedelta(seconds=self._setup.reminder_s)
            # A hold shorter than the reminder period gets no reminder: the ready message says it
            # all.
            reminding = self._reminded != version and remind_at > self._ready_at + timedelta(
                minutes=1
            )
            wake = remind_at if reminding else deadline.at
            woke = await self._until(partial(self._customer_or_change, seen, version), wake)
            if not woke:
                # An extension being written decides before the deadline does.
                await workflow.wait_condition(lambda: self._extending == 0)
                if self._version != version or self._handover is not None:
                    continue
                if reminding:
                    await self._remind(deadline)
                    continue
                return "expired"
            if self._handover is not None:
                return "collected"
            if self._changes != seen:
                seen = self._changes
                await self._put_back(self._trim())
                if not self._owes():
                    return "withdrawn"
                if self._todo():
                    return "more"

    def _customer_or_change(self, seen: int, version: int) -> bool:
        return self._handover is not None or self._changes != seen or self._version != version

    async def _remind(self, deadline: Deadline) -> None:
        assert self._setup is not None
        r = self._req
        self._reminded = self._version
        await self._notify(
            "pickup_reminder",
            f"Reminder: order {r.order_number} waits for you until {deadline.local}",
            f"Hello {r.customer_name or 'there'},\n\nyour order {r.order_number} is waiting at "
            f"{self._setup.location_name} until {deadline.local}. Your pickup code: {self._code}.",
            code=self._code,
            deadline=deadline.at.isoformat(),
            version=self._version,
        )

    async def _collected(self) -> FulfilmentResult:
        assert self._handover is not None
        h, r = self._handover, self._req
        task = self._tasks.pop(HANDOVER)
        how = (
            "ID checked by a manager"
            if h.id_checked and not (h.code or h.barcode)
            else "pickup code"
        )
        await workflow.execute_activity_method(
            FulfilmentActivities.hand_over,
            HandOverCmd(
                workflow_id=self._wf,
                reference=r.order_workflow_id,
                location_id=r.location_id,
                task_id=task.id,
                user_id=h.staff.user_id,
                at=workflow.now(),
                detail={"handed_over_by": h.staff.name, "checked": how},
            ),
            **TASK_STEP,
        )
        self._phase = "collected"
        self._handled += 1
        await self._notify(
            "picked_up",
            f"Thank you for collecting order {r.order_number}",
            f"Order {r.order_number} was handed over at "
            f"{self._setup.location_name if self._setup else ''}.",
        )
        return FulfilmentResult(
            status="picked_up", message=f"Handed over at {r.location_code} ({how})."
        )

    async def _expired(self) -> FulfilmentResult:
        assert self._deadline is not None
        r = self._req
        await self._give_back("expired")
        self._phase = "expired"
        self._message = (
            f"Not collected at {r.location_code} by {self._deadline.local}; back on the shelf."
        )
        self._handled += 1
        await self._notify(
            "pickup_expired",
            f"Order {r.order_number} was not collected",
            f"Hello {r.customer_name or 'there'},\n\n"
            f"your order {r.order_number} was not collected by "
            f"{self._deadline.local}, so we have put it back on the shelf. "
            "Your payment is refunded.",
        )
        return FulfilmentResult(status="expired", message=self._message)

    async def _give_back(self, outcome: str) -> None:
        """Release the pickup allocation to the shelf and take the tasks off the board."""
        r = self._req
        if self._held:
            await workflow.execute_activity_method(
                FulfilmentActivities.release_pickup,
                ReleaseCmd(reference=r.order_workflow_id, location_id=r.location_id),
                **TASK_STEP,
            )
            self._held = {}
        await self._cancel_all(outcome)

    async def _put_back(self, extra: dict[str, int]) -> None:
        """Units picked for lines the parent withdrew: their pickup hold is given back."""
        r = self._req
        for sku, qty in sorted(extra.items()):
            held = self._held.get(sku, 0)
            if held > 0:
                await workflow.execute_activity_method(
                    FulfilmentActivities.release_pickup,
                    ReleaseCmd(
                        reference=r.order_workflow_id,
                        location_id=r.location_id,
                        sku=sku,
                        quantity=min(qty, held),
                    ),
                    **TASK_STEP,
                )
                self._held[sku] = held - min(qty, held)
        if self._held and HANDOVER in self._tasks:
            await self._amend(HANDOVER, self._held)

    # ---- handlers --------------------------------------------------------------------------------

    def _ready(self) -> None:
        if self._phase != "ready":
            why = {
                "picking": "is still being picked",
                "collected": "was collected already",
                "expired": "was not collected in time and is back on the shelf",
            }.get(self._phase, f"is {self._phase}")
            raise to_failure(Conflict(f"Order {self._req.order_number} {why}."))

    def _code_matches(self, code: str, barcode: str) -> bool:
        if barcode:
            return barcode.strip() == pickup_barcode(self._req.order_number, self._code)
        return bool(code) and code.strip() == self._code

    async def _wrong_code(self, task_id: int) -> None:
        """Count it where staff see it; too many locks the code (a manager hands over after an ID
        check)."""
        assert self._setup is not None
        self._wrong += 1
        self._locked = self._wrong >= self._setup.code_attempts
        await workflow.execute_activity_method(
            FulfilmentActivities.amend_task,
            AmendTask(
                task_id=task_id,
                detail={"wrong_codes": str(self._wrong), "locked": "yes" if self._locked else ""},
            ),
            **ANSWER_STEP,
        )
        left = self._setup.code_attempts - self._wrong
        tail = (
            "The code is now locked: a manager must check the customer's ID."
            if self._locked
            else f"{left} more attempt{'s' if left != 1 else ''} before the code is locked."
        )
        raise to_failure(
            InvalidRequest(
                f"Wrong pickup code for order {self._req.order_number}. {tail}", code="wrong_code"
            )
        )

    @workflow.update(name=HAND_OVER_UPDATE)
    async def hand_over(self, h: HandOver) -> FulfilmentState:
        """Staff give the goods to the customer who shows the pickup code (or its barcode)."""
        if not (h.id_checked and h.staff.role == "manager"):
            if self._locked:
                raise to_failure(
                    Conflict(
                        f"Too many wrong codes for order {self._req.order_number}: a manager must "
                        "check the customer's ID and hand it over."
                    )
                )
            if not self._code_matches(h.code, h.barcode):
                await self._wrong_code(self._tasks[HANDOVER].id)
        return await self._after(lambda: setattr(self, "_handover", h))

    @hand_over.validator
    def _validate_hand_over(self, h: HandOver) -> None:
        self._ready()
        if self._handover is not None:
            raise to_failure(
                Conflict(f"Order {self._req.order_number} is being handed over already.")
            )
        if h.id_checked and h.staff.role != "manager":
            raise to_failure(InvalidRequest("Only a manager can hand over on an ID check."))
        if not (h.code or h.barcode or h.id_checked):
            raise to_failure(
                InvalidRequest("Give the customer's pickup code or scan the pickup barcode.")
            )

    @workflow.update(name=ARRIVED_UPDATE)
    async def arrived(self, a: CurbsideArrival) -> FulfilmentState:
        """Curbside: the customer is outside in a parking bay; the board shows it at the top."""
        if self._locked:
            raise to_failure(Conflict("Please come into the store: we need to check your ID."))
        task = self._tasks[HANDOVER]
        if not self._code_matches(a.code, ""):
            # Only in histories from before the validator refused wrong curbside codes (validators
            # do not run on replay): they counted then, and replay must do what they did.
            await self._wrong_code(task.id)
        self._bay = a.bay
        await workflow.execute_activity_method(
            FulfilmentActivities.amend_task,
            AmendTask(task_id=task.id, curbside_bay=a.bay, arrived_at=workflow.now()),
            **ANSWER_STEP,
        )
        return self.state()

    @arrived.validator
    def _validate_arrived(self, a: CurbsideArrival) -> None:
        if self._phase == "picking":
            raise to_failure(
                Conflict(
                    f"Order {self._req.order_number} is not ready yet: we will message you when "
                    "it is."
                )
            )
        self._ready()
        # Anyone can call "I'm here", so its wrong codes never count towards the hand-over's lock
        # (the API throttles them); refused here, they leave nothing in the history either.
        if not self._locked and not self._code_matches(a.code, ""):
            raise to_failure(
                InvalidRequest(
                    f"Wrong pickup code for order {self._req.order_number}: check the code in "
                    "your message, or come into the store.",
                    code="wrong_code",
                )
            )

    @workflow.update(name=EXTEND_UPDATE)
    async def extend(self, e: Extension) -> FulfilmentState:
        """A manager gives the customer more time (in opening days, counted from the current
        deadline)."""
        assert self._deadline is not None
        r = self._req
        self._extending += 1
        try:
            new = await workflow.execute_activity_method(
                FulfilmentActivities.pickup_deadline,
                DeadlineRequest(location_id=r.location_id, start=self._deadline.at, days=e.days),
                **ANSWER_STEP,
            )
            await workflow.execute_activity_method(
                FulfilmentActivities.extend_pickup,
                ExtendCmd(
                    reference=r.order_workflow_id,
                    location_id=r.location_id,
                    task_id=self._tasks[HANDOVER].id,
                    deadline=new.at,
                    detail={
                        "deadline": new.local,
                        "extended_by": e.staff.name,
                        "extension_reason": e.reason,
                    },
                ),
                **ANSWER_STEP,
            )
        except ActivityError as err:
            raise as_workflow_failure(err) from None
        finally:
            self._extending -= 1
        self._deadline, self._version, self._extensions = (
            new,
            self._version + 1,
            self._extensions + 1,
        )
        await self._notify(
            "pickup_extended",
            f"More time to collect order {r.order_number}",
            f"Your order {r.order_number} now waits for you until {new.local}.",
            deadline=new.at.isoformat(),
            version=self._version,
        )
        return self.state()

    @extend.validator
    def _validate_extend(self, e: Extension) -> None:
        self._ready()
        if e.staff.role != "manager":
            raise to_failure(InvalidRequest("Only a manager can extend a pickup."))
        if not 0 < e.days <= MAX_EXTENSION_DAYS:
            raise to_failure(
                InvalidRequest(f"Extend by more than 0 and at most {MAX_EXTENSION_DAYS} days.")
            )

    def state(self) -> FulfilmentState:
        more: dict[str, Any] = {
            "deadline": self._deadline.at if self._deadline else None,
            "reminded": self._reminded == self._version and self._deadline is not None,
            "extensions": self._extensions,
            "wrong_codes": self._wrong,
            "locked": self._locked,
            "curbside_bay": self._bay,
        }
        return self._state(**more)
