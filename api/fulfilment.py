"""Steering Bopis / ShipFromStore from the API: who may, which workflow, and its answer as JSON.

The API never writes fulfilment state: it sends updates to the workflow that owns the task and reads
tasks through the repository.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from api import idempotency
from api.errors import ApiError
from api.schemas_fulfilment import FulfilmentStateOut, LineOut, TaskOut
from contracts.fulfilment import FulfilmentState, Staff, query_fulfilment, update_fulfilment
from db.repositories import fulfilment
from db.repositories.fulfilment import LocationRef, TaskView
from db.repositories.users import Principal
from db.session import Database
from domain.errors import NotFound
from domain.secrets import mask

FULFILMENT_ROLES = frozenset({"fulfilment", "manager"})
# Task details that would carry a bearer secret: the board and the API show them masked (the
# customer's "ready" message is the one place a pickup code is shown in full).
SECRET_DETAILS = frozenset({"code", "pickup_code", "barcode", "pickup_barcode", "gift_card"})


def location(db: Database, code: str) -> LocationRef:
    with db.unit_of_work() as s:
        ref = fulfilment.location_ref(s, code)
    if ref is None:
        raise NotFound(f"There is no store or warehouse {code}.")
    return ref


def require_staff(
    db: Database, principal: Principal, code: str, *, manager: bool = False, till: bool = False
) -> LocationRef:
    """Fulfilment staff and managers of this location only (unknown location: 404); with `till`,
    its cashiers too (a pickup handed over at the till)."""
    ref = location(db, code)
    roles = {"manager"} if manager else FULFILMENT_ROLES | ({"cashier"} if till else set())
    if principal.role not in roles:
        raise ApiError(
            403,
            "forbidden",
            "Only a manager can do that."
            if manager
            else "Fulfilment is for fulfilment staff and managers"
            + (" and the store's cashiers" if till else "")
            + "; "
            f"you are signed in as {principal.role}.",
        )
    if ref.id not in principal.location_ids:
        raise ApiError(403, "forbidden", f"You are not signed up for {code}.")
    return ref


def staff(principal: Principal) -> Staff:
    return Staff(user_id=principal.user_id, name=principal.display_name, role=principal.role)


def task_at(db: Database, ref: LocationRef, task_id: int) -> TaskView:
    with db.unit_of_work() as s:
        found = fulfilment.task(s, task_id)
    if found is None or found.location_id != ref.id:
        raise NotFound(f"There is no task {task_id} at {ref.code}.")
    return found


def pickup_at(db: Database, ref: LocationRef, order: str) -> str:
    with db.unit_of_work() as s:
        wf = fulfilment.pickup_workflow(s, ref.id, order)
    if wf is None:
        raise NotFound(f"There is no pickup of order {order} at {ref.code}.")
    return wf


update = update_fulfilment  # the routes' names for the contract's helpers
query = query_fulfilment


def state_out(state: FulfilmentState, store: str) -> dict[str, Any]:
    body = asdict(state)
    body["location"] = body.pop("location_code")
    for p in body["parcels"]:
        del p[
            "label_path"
        ]  # a path on the worker's disk: the API serves the file by tracking number
        p["label_url"] = f"/fulfilment/{store}/labels/{p['tracking_number']}"
    return FulfilmentStateOut.model_validate(body).model_dump(mode="json")


def task_out(t: TaskView, now: datetime) -> TaskOut:
    shown = {
        k: mask(str(v)) if k in SECRET_DETAILS else v
        for k, v in t.detail.items()
        if v not in ("", None)
    }
    return TaskOut(
        id=t.id,
        kind=t.kind,
        status=t.status,
        order_number=t.order_number,
        customer_name=t.customer_name,
        lines=[LineOut(sku=ln.sku, name=ln.name, quantity=ln.quantity) for ln in t.lines],
        assignee=t.assignee_name,
        created_at=t.created_at,
        due_at=t.due_at,
        overdue=t.escalated_at is not None or t.due_at < now,
        escalated=t.escalated_at is not None,
        curbside_bay=t.curbside_bay,
        arrived_at=t.arrived_at,
        detail=shown,
        workflow_id=t.workflow_id,
    )


def local_time(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def now() -> datetime:
    return datetime.now(UTC)


async def idempotent(db: Database, scope: str, key: str | None, request: Any, run: Any) -> Any:
    """Replay the first answer to an Idempotency-Key; business refusals are not stored (they may
    change)."""
    return await idempotency.once(db, scope, key, request, run)
