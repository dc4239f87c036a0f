"""Fulfilment tasks: created, claimed and closed by their workflow's activities; listed for the
board.

Every write is keyed or guarded by status, so a retried activity changes a task once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, case, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location, User
from db.models_fulfilment import FulfilmentTask
from domain.errors import Conflict, NotFound

OPEN, CLAIMED, DONE, CANCELLED = "open", "claimed", "done", "cancelled"
ACTIVE_STATUSES = (OPEN, CLAIMED)


@dataclass(frozen=True)
class TaskLine:
    sku: str
    quantity: int
    name: str = ""


@dataclass(frozen=True)
class NewTask:
    key: str
    location_id: int
    kind: str
    workflow_id: str
    order_workflow_id: str
    order_number: str
    lines: Sequence[TaskLine]
    due_at: datetime
    customer_name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskView:
    id: int
    location_id: int
    kind: str
    status: str
    outcome: str
    workflow_id: str
    order_workflow_id: str
    order_number: str
    customer_name: str
    lines: tuple[TaskLine, ...]
    assignee_id: int | None
    assignee_name: str
    created_at: datetime
    due_at: datetime
    claimed_at: datetime | None
    done_at: datetime | None
    escalated_at: datetime | None
    curbside_bay: str | None
    arrived_at: datetime | None
    detail: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def _lines(rows: Sequence[TaskLine]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity, "name": ln.name} for ln in rows]


def _select() -> Select[Any]:
    # Rows are (task, assignee's name) and are unpacked into _view.
    return cast(
        Select[Any],
        select(FulfilmentTask, User.display_name).outerjoin(
            User, User.id == FulfilmentTask.assignee_id
        ),
    )


def _view(task: FulfilmentTask, assignee: str | None) -> TaskView:
    return TaskView(
        id=task.id,
        location_id=task.location_id,
        kind=task.kind,
        status=task.status,
        outcome=task.outcome,
        workflow_id=task.workflow_id,
        order_workflow_id=task.order_workflow_id,
        order_number=task.order_number,
        customer_name=task.customer_name,
        lines=tuple(
            TaskLine(ln["sku"], int(ln["quantity"]), ln.get("name", "")) for ln in task.lines or []
        ),
        assignee_id=task.assignee_id,
        assignee_name=assignee or "",
        created_at=task.created_at,
        due_at=task.due_at,
        claimed_at=task.claimed_at,
        done_at=task.done_at,
        escalated_at=task.escalated_at,
        curbside_bay=task.curbside_bay,
        arrived_at=task.arrived_at,
        detail=dict(task.detail or {}),
    )


def _locked(session: Session, task_id: int) -> FulfilmentTask:
    task = session.scalars(
        select(FulfilmentTask)
        .where(FulfilmentTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if task is None:
        raise NotFound(f"There is no task {task_id}.")
    return task


def task(session: Session, task_id: int) -> TaskView | None:
    row = session.execute(_select().where(FulfilmentTask.id == task_id)).first()
    return _view(*row) if row else None


def create_task(session: Session, new: NewTask) -> TaskView:
    """Insert once per key; a retry gets the task that is already there."""
    session.execute(
        insert(FulfilmentTask)
        .values(
            key=new.key,
            location_id=new.location_id,
            kind=new.kind,
            status=OPEN,
            outcome="",
            workflow_id=new.workflow_id,
            order_workflow_id=new.order_workflow_id,
            order_number=new.order_number,
            customer_name=new.customer_name,
            lines=_lines(new.lines),
            due_at=new.due_at,
            detail=new.detail,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.execute(_select().where(FulfilmentTask.key == new.key)).one()
    return _view(*row)


def claim(
    session: Session, task_id: int, user_id: int, at: datetime, *, take_over: bool = False
) -> TaskView:
    """Assign the task to a person; someone else's claim stands unless a manager takes it over."""
    t = _locked(session, task_id)
    if t.status not in ACTIVE_STATUSES:
        raise Conflict(f"Task {task_id} is {t.status} already.")
    if t.assignee_id not in (None, user_id) and not take_over:
        holder = session.get(User, t.assignee_id)
        raise Conflict(
            f"{holder.display_name if holder else 'Someone'} is working on task {task_id} already."
        )
    if t.assignee_id != user_id:
        t.assignee_id, t.claimed_at, t.status = user_id, at, CLAIMED
    session.flush()
    found = task(session, task_id)
    assert found is not None
    return found


def close(
    session: Session,
    task_id: int,
    outcome: str,
    at: datetime,
    *,
    user_id: int | None = None,
    status: str = DONE,
    detail: dict[str, Any] | None = None,
) -> TaskView:
    """Finish (or cancel) a task once; closing a closed task changes nothing."""
    t = _locked(session, task_id)
    if t.status in ACTIVE_STATUSES:
        t.status, t.outcome, t.done_at = status, outcome, at
        if user_id is not None and t.assignee_id is None:
            t.assignee_id, t.claimed_at = user_id, at
        if detail:
            t.detail = {**(t.detail or {}), **detail}
    session.flush()
    found = task(session, task_id)
    assert found is not None
    return found


def cancel_active(session: Session, workflow_id: str, outcome: str, at: datetime) -> int:
    """Cancel every task of a workflow still open or claimed (it withdrew, expired or was
    cancelled)."""
    rows = session.execute(
        update(FulfilmentTask)
        .where(
            FulfilmentTask.workflow_id == workflow_id, FulfilmentTask.status.in_(ACTIVE_STATUSES)
        )
        .values(status=CANCELLED, outcome=outcome, done_at=at)
        .returning(FulfilmentTask.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(rows)


def amend(
    session: Session,
    task_id: int,
    *,
    lines: Sequence[TaskLine] | None = None,
    due_at: datetime | None = None,
    escalated_at: datetime | None = None,
    curbside_bay: str | None = None,
    arrived_at: datetime | None = None,
    detail: dict[str, Any] | None = None,
) -> TaskView:
    """Change what the workflow knows better now: lines, due time, escalation, curbside arrival,
    details."""
    t = _locked(session, task_id)
    if lines is not None:
        t.lines = _lines(lines)
    if due_at is not None:
        t.due_at = due_at
    if escalated_at is not None and t.escalated_at is None:
        t.escalated_at = escalated_at
    if curbside_bay is not None:
        t.curbside_bay, t.arrived_at = curbside_bay, arrived_at
    if detail:
        t.detail = {**(t.detail or {}), **detail}
    session.flush()
    found = task(session, task_id)
    assert found is not None
    return found


def active_tasks(session: Session, location_id: int, kind: str | None = None) -> list[TaskView]:
    """Open and claimed tasks of a location, oldest first."""
    q = _select().where(
        FulfilmentTask.location_id == location_id, FulfilmentTask.status.in_(ACTIVE_STATUSES)
    )
    if kind:
        q = q.where(FulfilmentTask.kind == kind)
    return [
        _view(*row)
        for row in session.execute(q.order_by(FulfilmentTask.created_at, FulfilmentTask.id))
    ]


def board(session: Session, location_id: int, now: datetime) -> list[TaskView]:
    """The board's order: curbside arrivals, then overdue (escalated or past due), then by due
    time."""
    curbside = case((FulfilmentTask.arrived_at.is_not(None), 0), else_=1)
    overdue = case(
        (FulfilmentTask.escalated_at.is_not(None), 0), (FulfilmentTask.due_at < now, 0), else_=1
    )
    q = (
        _select()
        .where(
            FulfilmentTask.location_id == location_id, FulfilmentTask.status.in_(ACTIVE_STATUSES)
        )
        .order_by(
            curbside, FulfilmentTask.arrived_at, overdue, FulfilmentTask.due_at, FulfilmentTask.id
        )
    )
    return [_view(*row) for row in session.execute(q)]


def tasks_of_workflow(session: Session, workflow_id: str) -> list[TaskView]:
    q = _select().where(FulfilmentTask.workflow_id == workflow_id).order_by(FulfilmentTask.id)
    return [_view(*row) for row in session.execute(q)]


def pickup_workflow(session: Session, location_id: int, order: str) -> str | None:
    """The newest pickup workflow of an order (by number, or the order's barcode) at a location."""
    return session.scalar(
        select(FulfilmentTask.workflow_id)
        .where(
            FulfilmentTask.location_id == location_id,
            FulfilmentTask.order_number == order,
            FulfilmentTask.workflow_id.like("bopis:%"),
        )
        .order_by(FulfilmentTask.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class LocationRef:
    id: int
    code: str
    name: str
    kind: str
    timezone: str
    address: str


def location_ref(session: Session, code: str) -> LocationRef | None:
    """A location by code (stores and warehouses fulfil alike)."""
    loc = session.scalar(select(Location).where(Location.code == code))
    return (
        LocationRef(loc.id, loc.code, loc.name, loc.kind, loc.timezone, loc.address or "")
        if loc
        else None
    )
