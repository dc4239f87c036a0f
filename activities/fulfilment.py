"""Activities of the Bopis and ShipFromStore workflows: staff tasks, pickup holds, shortages,
deadlines.

Each is one transaction and idempotent: tasks are created by key and closed once, holds are set to
targets, ledger rows carry keys. Timestamps come from the workflow (`at`), never the clock here,
except for a compensation pushed before its time was known (CancelTasks without `at`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from contracts.errors import encode_errors
from contracts.fulfilment import (
    AmendTask,
    CancelTasks,
    ClaimCmd,
    CloseTask,
    Deadline,
    DeadlineRequest,
    Escalation,
    ExtendCmd,
    FulfilmentConfig,
    FulfilmentLine,
    FulfilmentRequest,
    HandOverCmd,
    HoldCmd,
    OpenTask,
    ReleaseCmd,
    Setup,
    ShortageCmd,
    TaskRef,
    task_status,
)
from contracts.notices import Notice
from db.repositories import availability, catalog, fulfilment, pick_stock, reservations, store_hours
from db.repositories.fulfilment import NewTask, TaskLine
from db.session import Database
from domain.errors import NotFound
from integrations.notifier import Notifier


def _line(ln: TaskLine) -> FulfilmentLine:
    return FulfilmentLine(sku=ln.sku, quantity=ln.quantity, name=ln.name)


@encode_errors
class FulfilmentActivities:
    """Tasks, stock and deadlines of in-store fulfilment."""

    def __init__(self, db: Database, notifier: Notifier, config: FulfilmentConfig) -> None:
        self.db = db
        self.notifier = notifier
        self.config = config

    @activity.defn(name="fulfilment.setup")
    def setup(self, req: FulfilmentRequest) -> Setup:
        """The location and the settings a fulfilment runs with (recorded once in its history)."""
        with self.db.unit_of_work() as s:
            ref = fulfilment.location_ref(s, req.location_code)
            if ref is None:
                raise NotFound(f"There is no location {req.location_code}.")
            items = catalog.items_by_sku(s, req.location_id, [ln.sku for ln in req.lines])
            hours = store_hours.hours(s, req.location_id)
        c = self.config
        return Setup(
            location_name=ref.name,
            location_address=ref.address,
            timezone=ref.timezone,
            hours=hours.describe(),
            names={sku: item.name for sku, item in items.items()},
            pick_sla_s=c.pick_sla_minutes * 60,
            hold_days=c.pickup_hold_days,
            reminder_s=c.pickup_reminder_hours * 3600,
            code_attempts=c.pickup_code_attempts,
            search_attributes=c.search_attributes,
        )

    @activity.defn(name="fulfilment.open_task")
    def open_task(self, cmd: OpenTask) -> TaskRef:
        """A task on the location's board (once per key), lines named from the catalogue."""
        r = cmd.request
        with self.db.unit_of_work() as s:
            items = catalog.items_by_sku(s, r.location_id, [ln.sku for ln in cmd.lines])
            lines = [
                TaskLine(
                    ln.sku,
                    ln.quantity,
                    ln.name or (items[ln.sku].name if ln.sku in items else ln.sku),
                )
                for ln in cmd.lines
            ]
            t = fulfilment.create_task(
                s,
                NewTask(
                    cmd.key,
                    r.location_id,
                    cmd.kind,
                    cmd.workflow_id,
                    r.order_workflow_id,
                    r.order_number,
                    lines,
                    cmd.due_at,
                    r.customer_name,
                    dict(cmd.detail),
                ),
            )
        return TaskRef(
            id=t.id,
            kind=t.kind,
            due_at=t.due_at,
            lines=tuple(_line(ln) for ln in t.lines),
            status=task_status(t.status),
        )

    @activity.defn(name="fulfilment.claim")
    def claim(self, cmd: ClaimCmd) -> TaskRef:
        """Someone takes the task; another person's claim stands unless a manager takes it over."""
        with self.db.unit_of_work() as s:
            t = fulfilment.claim(s, cmd.task_id, cmd.user_id, cmd.at, take_over=cmd.take_over)
        return TaskRef(
            id=t.id,
            kind=t.kind,
            due_at=t.due_at,
            lines=tuple(_line(ln) for ln in t.lines),
            status=task_status(t.status),
        )

    @activity.defn(name="fulfilment.close_task")
    def close_task(self, cmd: CloseTask) -> None:
        """The task is done (or cancelled) with an outcome; once."""
        with self.db.unit_of_work() as s:
            fulfilment.close(
                s,
                cmd.task_id,
                cmd.outcome,
                cmd.at,
                user_id=cmd.user_id,
                status=fulfilment.CANCELLED if cmd.cancelled else fulfilment.DONE,
                detail=dict(cmd.detail or {}),
            )

    @activity.defn(name="fulfilment.amend_task")
    def amend_task(self, cmd: AmendTask) -> None:
        """The workflow knows better now: lines moved, a new due time, a curbside arrival, a wrong
        code."""
        lines = (
            None
            if cmd.lines is None
            else [TaskLine(ln.sku, ln.quantity, ln.name) for ln in cmd.lines]
        )
        with self.db.unit_of_work() as s:
            if lines is not None:
                current = fulfilment.task(s, cmd.task_id)
                names = {ln.sku: ln.name for ln in current.lines} if current else {}
                lines = [
                    TaskLine(ln.sku, ln.quantity, ln.name or names.get(ln.sku, ln.sku))
                    for ln in lines
                ]
            fulfilment.amend(
                s,
                cmd.task_id,
                lines=lines,
                due_at=cmd.due_at,
                curbside_bay=cmd.curbside_bay,
                arrived_at=cmd.arrived_at,
                detail=dict(cmd.detail or {}),
            )

    @activity.defn(name="fulfilment.cancel_tasks")
    def cancel_tasks(self, cmd: CancelTasks) -> int:
        """Take every open task of the workflow off the board."""
        with self.db.unit_of_work() as s:
            at = cmd.at or datetime.now(UTC)
            return fulfilment.cancel_active(s, cmd.workflow_id, cmd.outcome, at)

    @activity.defn(name="fulfilment.escalate")
    def escalate(self, e: Escalation) -> None:
        """A pick is past its SLA: flag it on the board and tell the store."""
        with self.db.unit_of_work() as s:
            fulfilment.amend(s, e.task_id, escalated_at=e.at)
        self.notifier.send(
            Notice(
                key=f"{e.workflow_id}:escalate:{e.task_id}",
                kind="pick_overdue",
                recipient=e.location_code,
                channel="store",
                subject=f"Pick overdue: order {e.order_number}",
                body=f"Order {e.order_number} has not been picked within {e.minutes} minutes "
                f"(task {e.task_id}).",
                reference=e.workflow_id,
                data={"task_id": e.task_id, "order": e.order_number},
            )
        )

    @activity.defn(name="fulfilment.resolve_barcodes")
    def resolve_barcodes(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        """The SKU behind each scanned barcode (or typed SKU); "" for one the catalogue does not
        know."""
        with self.db.unit_of_work() as s:
            found = availability.resolve_skus(s, [c for c in codes if c.strip()])
        return tuple(found.get(c.strip(), found.get(c, "")) for c in codes)

    @activity.defn(name="fulfilment.record_shortage")
    def record_shortage(self, cmd: ShortageCmd) -> dict[str, int]:
        """The shelf did not have the units: correct on_hand (a ledger row per SKU), once per
        task."""
        with self.db.unit_of_work() as s:
            return pick_stock.record_shortage(
                s,
                location_id=cmd.location_id,
                missing={ln.sku: ln.quantity for ln in cmd.missing},
                reference=cmd.reference,
                key=f"{cmd.workflow_id}:shortage:{cmd.task_id}",
                workflow_id=cmd.workflow_id,
                occurred_at=cmd.at,
            )

    @activity.defn(name="fulfilment.pickup_deadline")
    def pickup_deadline(self, req: DeadlineRequest) -> Deadline:
        """`days` opening days of the store after `start` (see domain.store_hours)."""
        with self.db.unit_of_work() as s:
            hours = store_hours.hours(s, req.location_id)
        at = hours.hold_deadline(req.start, req.days)
        return Deadline(at=at, local=hours.local(at).strftime("%a %d %b %H:%M"))

    @activity.defn(name="fulfilment.hold_for_pickup")
    def hold_for_pickup(self, cmd: HoldCmd) -> int:
        """Picked units become a held-for-pickup allocation (reservation kind 'pickup'); returns
        units moved."""
        with self.db.unit_of_work() as s:
            moved = pick_stock.hold_for_pickup(
                s,
                reference=cmd.reference,
                location_id=cmd.location_id,
                targets=cmd.targets,
                expires_at=cmd.expires_at,
                workflow_id=cmd.workflow_id,
            )
        return sum(h.quantity for h in moved)

    @activity.defn(name="fulfilment.extend_pickup")
    def extend_pickup(self, cmd: ExtendCmd) -> None:
        """A manager moved the pickup deadline: the hold and the task follow."""
        with self.db.unit_of_work() as s:
            pick_stock.set_expiry(
                s, reference=cmd.reference, location_id=cmd.location_id, expires_at=cmd.deadline
            )
            fulfilment.amend(s, cmd.task_id, due_at=cmd.deadline, detail=dict(cmd.detail))

    @activity.defn(name="fulfilment.hand_over")
    def hand_over(self, cmd: HandOverCmd) -> int:
        """The customer has the goods: the pickup hold leaves on_hand, the task is done; once."""
        with self.db.unit_of_work() as s:
            taken = pick_stock.consume_pickup(
                s,
                reference=cmd.reference,
                location_id=cmd.location_id,
                occurred_at=cmd.at,
                workflow_id=cmd.workflow_id,
            )
            fulfilment.close(
                s, cmd.task_id, "handed_over", cmd.at, user_id=cmd.user_id, detail=dict(cmd.detail)
            )
        return sum(h.quantity for h in taken)

    @activity.defn(name="fulfilment.release_pickup")
    def release_pickup(self, cmd: ReleaseCmd) -> int:
        """Back to the shelf: give back the order's pickup holds here (or part of one SKU's)."""
        with self.db.unit_of_work() as s:
            if cmd.sku:
                return reservations.release_part(
                    s,
                    kind=reservations.PICKUP,
                    reference=cmd.reference,
                    location_id=cmd.location_id,
                    sku=cmd.sku,
                    quantity=cmd.quantity,
                )
            return sum(
                h.quantity
                for h in reservations.release(
                    s,
                    kind=reservations.PICKUP,
                    reference=cmd.reference,
                    location_id=cmd.location_id,
                )
            )


@encode_errors
class NoticeActivities:
    """Messages to customers and stores through the Notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    @activity.defn(name="notices.send")
    def send(self, notice: Notice) -> bool:
        """Send (or queue) one message; a retry with the same key sends nothing twice."""
        return self.notifier.send(notice)
