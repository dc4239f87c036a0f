"""Fulfilment staff's API: tasks per location, pick / shortage / reject, pack and ship, pickups and
curbside.

Staff (role fulfilment or manager, signed up for the location) act on tasks; every action is an
update of the Bopis / ShipFromStore workflow the task belongs to. Customers use one endpoint:
curbside "I'm here", authenticated by their pickup code.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from api import fulfilment as steer
from api import ratelimit
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.schemas_fulfilment import (
    ArrivedIn,
    ArrivedOut,
    BoardOut,
    DayHoursIn,
    ExtendIn,
    FulfilmentStateOut,
    HandOverIn,
    PackIn,
    PickedIn,
    RejectIn,
    ShortageIn,
    StoreHoursIn,
    StoreHoursOut,
    TaskOut,
)
from contracts.fulfilment import (
    ARRIVED_UPDATE,
    CLAIM_UPDATE,
    EXTEND_UPDATE,
    HAND_OVER_UPDATE,
    PACK_UPDATE,
    REJECT_UPDATE,
    REPORT_PICKED_UPDATE,
    REPORT_SHORTAGE_UPDATE,
    SHIP_UPDATE,
    ClaimTask,
    CurbsideArrival,
    Extension,
    FulfilmentLine,
    HandOver,
    PackReport,
    PickReport,
    PickScan,
    Rejection,
    ShipReport,
    ShortageReport,
)
from db.repositories import bookkeeping, fulfilment, parcels, store_hours
from domain.errors import DomainError, InvalidRequest, NotFound
from domain.store_hours import DayHours, StoreHours, parse_hhmm
from integrations import files as stored_files
from tillflow.files import file_store_for

router = APIRouter(prefix="/fulfilment", tags=["fulfilment"])
StoreCode = Annotated[
    str,
    Path(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="store or warehouse code, e.g. BER",
    ),
]
TaskId = Annotated[int, Path(ge=1, le=2**62, description="a task id from the task list")]
OrderNo = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.#-]+$",
        description="the order number, e.g. SHOP-000123",
    ),
]
Kind = Literal["pick", "pack", "ship", "handover"]
STAFF_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get(
    "/{store}/tasks", response_model=list[TaskOut], responses=error_responses(401, 403, 404, 422)
)
def list_tasks(
    store: StoreCode,
    principal: PrincipalDep,
    db: DbDep,
    kind: Annotated[Kind | None, Query(description="only this kind")] = None,
) -> list[TaskOut]:
    """Open and claimed tasks of the location, oldest first, with their due times."""
    ref = steer.require_staff(db, principal, store)
    with db.unit_of_work() as s:
        rows = fulfilment.active_tasks(s, ref.id, kind)
    now = steer.now()
    return [steer.task_out(t, now) for t in rows]


def board_data(db: Any, ref: fulfilment.LocationRef) -> BoardOut:
    now = steer.now()
    with db.unit_of_work() as s:
        rows = [steer.task_out(t, now) for t in fulfilment.board(s, ref.id, now)]
    return BoardOut(
        store=ref.code,
        name=ref.name,
        generated_at=now,
        curbside=[t for t in rows if t.arrived_at is not None],
        pickups=[t for t in rows if t.kind == "handover" and t.arrived_at is None],
        picks=[t for t in rows if t.kind == "pick"],
        parcels=[t for t in rows if t.kind in ("pack", "ship")],
    )


@router.get(
    "/{store}/board", response_model=BoardOut, responses=error_responses(401, 403, 404, 422)
)
def board(store: StoreCode, principal: PrincipalDep, db: DbDep) -> BoardOut:
    """The board as JSON: curbside arrivals, pickups waiting, picks to do, parcels to ship; overdue
    first."""
    return board_data(db, steer.require_staff(db, principal, store))


async def _act(
    db: Any,
    client: Any,
    principal: Any,
    store: str,
    task_id: int,
    name: str,
    make: Any,
    key: str | None,
    request: Any,
) -> Any:
    ref = await run_in_threadpool(steer.require_staff, db, principal, store)
    task = await run_in_threadpool(steer.task_at, db, ref, task_id)

    async def run() -> dict[str, Any]:
        state = await steer.update(client, task.workflow_id, name, make(steer.staff(principal)))
        return steer.state_out(state, store)

    return await steer.idempotent(
        db,
        f"fulfilment:{store}:task:{task_id}:{name}",
        key,
        {"user": principal.user_id, **request},
        run,
    )


@router.post(
    "/{store}/tasks/{task_id}/claim", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def claim(
    store: StoreCode,
    task_id: TaskId,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Take the task; someone else's claim stands (409) unless you are a manager taking it over."""
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        CLAIM_UPDATE,
        lambda who: ClaimTask(task_id=task_id, staff=who),
        idempotency_key,
        {},
    )


@router.post(
    "/{store}/tasks/{task_id}/picked", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def picked(
    store: StoreCode,
    task_id: TaskId,
    body: PickedIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Report the pick with every unit scanned; a wrong item, too many or too few is refused (422)
    with why."""
    scans = tuple(PickScan(barcode=s.barcode, quantity=s.quantity) for s in body.scans)
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        REPORT_PICKED_UPDATE,
        lambda who: PickReport(task_id=task_id, staff=who, scans=scans),
        idempotency_key,
        body.model_dump(),
    )


@router.post(
    "/{store}/tasks/{task_id}/shortage", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def shortage(
    store: StoreCode,
    task_id: TaskId,
    body: ShortageIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Some units are not on the shelf: stock is corrected and the order is re-sourced from
    elsewhere."""
    missing = tuple(FulfilmentLine(sku=m.sku, quantity=m.quantity) for m in body.missing)
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        REPORT_SHORTAGE_UPDATE,
        lambda who: ShortageReport(task_id=task_id, staff=who, missing=missing, note=body.note),
        idempotency_key,
        body.model_dump(),
    )


@router.post(
    "/{store}/tasks/{task_id}/reject", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def reject(
    store: StoreCode,
    task_id: TaskId,
    body: RejectIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """This location cannot do the order (no staff, damaged goods): it goes to another location."""
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        REJECT_UPDATE,
        lambda who: Rejection(task_id=task_id, staff=who, reason=body.reason),
        idempotency_key,
        body.model_dump(),
    )


@router.post(
    "/{store}/tasks/{task_id}/pack",
    response_model=FulfilmentStateOut,
    responses={**STAFF_ERRORS, **error_responses(503)},
)
async def pack(
    store: StoreCode,
    task_id: TaskId,
    body: PackIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The parcel is packed: buys its label from the carrier; the answer has the tracking number and
    label URL."""
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        PACK_UPDATE,
        lambda who: PackReport(
            task_id=task_id,
            staff=who,
            weight_g=body.weight_g,
            length_cm=body.length_cm,
            width_cm=body.width_cm,
            height_cm=body.height_cm,
        ),
        idempotency_key,
        body.model_dump(),
    )


@router.post(
    "/{store}/tasks/{task_id}/ship", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def ship(
    store: StoreCode,
    task_id: TaskId,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The carrier collected the parcel(s): the order is shipped, the customer gets the tracking
    number."""
    return await _act(
        db,
        client,
        principal,
        store,
        task_id,
        SHIP_UPDATE,
        lambda who: ShipReport(task_id=task_id, staff=who),
        idempotency_key,
        {},
    )


@router.get(
    "/{store}/labels/{tracking}",
    response_class=FileResponse,
    responses={
        **error_responses(401, 403, 404, 422),
        200: {"description": "the label (PDF or ZPL)"},
    },
)
def label(
    store: StoreCode,
    principal: PrincipalDep,
    db: DbDep,
    settings: SettingsDep,
    tracking: Annotated[str, Path(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9]+$")],
) -> Any:
    """The shipping label of a parcel packed here, to print."""
    ref = steer.require_staff(db, principal, store)
    with db.unit_of_work() as s:
        parcel = parcels.by_tracking(s, ref.id, tracking)
    if parcel is None:
        raise NotFound(f"There is no label {tracking} at {store}.")
    media = "application/pdf" if parcel.label_format == "pdf" else "application/x-zpl"
    # Issue 18: labels live in the FileStore (PostgreSQL or S3), whichever worker bought them.
    key = stored_files.key_of(parcel.label_path)
    if key is not None:
        blob = file_store_for(settings, db).get(key)
        if blob is None:
            raise NotFound(f"There is no label {tracking} at {store}.")
        name = f"{tracking}.{parcel.label_format}"
        return Response(
            blob.content,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    if not FilePath(parcel.label_path).is_file():  # a label written to disk before issue 18
        raise NotFound(f"There is no label {tracking} at {store}.")
    return FileResponse(
        parcel.label_path, media_type=media, filename=f"{tracking}.{parcel.label_format}"
    )


# ---- opening hours (pickup deadlines count them) -------------------------------------------------


def _hours_out(code: str, hours: StoreHours) -> StoreHoursOut:
    def hhmm(m: int) -> str:
        return f"{m // 60:02d}:{m % 60:02d}"

    return StoreHoursOut(
        store=code,
        timezone=hours.timezone,
        days=[
            DayHoursIn(weekday=d.weekday, opens=hhmm(d.opens), closes=hhmm(d.closes))
            for d in hours.days
        ],
        opening_day_hours=hours.opening_day.total_seconds() / 3600,
        summary=hours.describe(),
    )


@router.get(
    "/{store}/hours", response_model=StoreHoursOut, responses=error_responses(401, 403, 404, 422)
)
def get_hours(store: StoreCode, principal: PrincipalDep, db: DbDep) -> StoreHoursOut:
    """The location's opening hours (local time); pickup deadlines count only these."""
    ref = steer.require_staff(db, principal, store)
    with db.unit_of_work() as s:
        return _hours_out(ref.code, store_hours.hours(s, ref.id))


@router.put(
    "/{store}/hours", response_model=StoreHoursOut, responses=error_responses(401, 403, 404, 422)
)
def set_hours(
    store: StoreCode, body: StoreHoursIn, principal: PrincipalDep, db: DbDep
) -> StoreHoursOut:
    """Managers: set the weekly opening hours; deadlines of pickups made ready from now on follow
    them."""
    ref = steer.require_staff(db, principal, store, manager=True)
    try:
        days = tuple(
            DayHours(d.weekday, parse_hhmm(d.opens), parse_hhmm(d.closes)) for d in body.days
        )
        hours = StoreHours(ref.timezone, days)
    except ValueError as err:
        raise InvalidRequest(str(err)) from None
    with db.unit_of_work() as s:
        store_hours.set_hours(s, ref.id, hours.days)
        bookkeeping.audit(
            s,
            action="store.hours",
            subject=f"location:{ref.code}",
            actor_user_id=principal.user_id,
            detail={"hours": hours.describe()},
        )
    return _hours_out(ref.code, hours)


# ---- pickups -------------------------------------------------------------------------------------


@router.get(
    "/{store}/pickups/{order}",
    response_model=FulfilmentStateOut,
    responses=error_responses(401, 403, 404, 422),
)
async def pickup(
    store: StoreCode, order: OrderNo, principal: PrincipalDep, db: DbDep, client: ClientDep
) -> Any:
    """Where a pickup stands: phase, deadline, wrong codes, curbside bay (also for the store's
    cashiers: a pickup is handed over at the till too)."""
    ref = await run_in_threadpool(lambda: steer.require_staff(db, principal, store, till=True))
    wf = await run_in_threadpool(steer.pickup_at, db, ref, order)
    state = await steer.query(client, wf)
    if state is None:
        raise NotFound(f"The pickup of order {order} at {store} has ended.")
    return steer.state_out(state, store)


def _order_of(barcode: str | None, order: str) -> None:
    if barcode and barcode.count(":") == 2 and barcode.split(":")[1] != order:
        raise DomainError(
            f"That barcode belongs to order {barcode.split(':')[1]}, not {order}.",
            code="wrong_order",
        )


@router.post(
    "/{store}/pickups/{order}/handover", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def hand_over(
    store: StoreCode,
    order: OrderNo,
    body: HandOverIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Give the order to the customer who shows the pickup code (or its barcode); a wrong code is
    refused and counted, and too many lock the code until a manager checks the customer's ID.
    The store's cashiers may hand over at the till."""
    ref = await run_in_threadpool(lambda: steer.require_staff(db, principal, store, till=True))
    _order_of(body.barcode, order)
    wf = await run_in_threadpool(steer.pickup_at, db, ref, order)

    async def run() -> dict[str, Any]:
        state = await steer.update(
            client,
            wf,
            HAND_OVER_UPDATE,
            HandOver(
                staff=steer.staff(principal),
                code=body.code or "",
                barcode=body.barcode or "",
                id_checked=body.id_checked,
            ),
        )
        return steer.state_out(state, store)

    return await steer.idempotent(
        db,
        f"fulfilment:{store}:pickup:{order}:handover",
        idempotency_key,
        {"user": principal.user_id, **body.model_dump()},
        run,
    )


@router.post(
    "/{store}/pickups/{order}/extend", response_model=FulfilmentStateOut, responses=STAFF_ERRORS
)
async def extend(
    store: StoreCode,
    order: OrderNo,
    body: ExtendIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Managers: give the customer more time (opening days added to the current deadline)."""
    ref = await run_in_threadpool(lambda: steer.require_staff(db, principal, store, manager=True))
    wf = await run_in_threadpool(steer.pickup_at, db, ref, order)

    async def run() -> dict[str, Any]:
        state = await steer.update(
            client,
            wf,
            EXTEND_UPDATE,
            Extension(staff=steer.staff(principal), days=body.days, reason=body.reason),
        )
        return steer.state_out(state, store)

    return await steer.idempotent(
        db,
        f"fulfilment:{store}:pickup:{order}:extend",
        idempotency_key,
        {"user": principal.user_id, **body.model_dump()},
        run,
    )


@router.post(
    "/{store}/pickups/{order}/arrived",
    response_model=ArrivedOut,
    responses={**error_responses(403, 404, 409, 422), **ratelimit.RATE_LIMITED},
)
async def arrived(
    store: StoreCode,
    order: OrderNo,
    body: ArrivedIn,
    request: Request,
    db: DbDep,
    client: ClientDep,
) -> Any:
    """Customers: "I'm here" at curbside, with your pickup code and the parking bay; staff bring it
    out.

    No sign-in: the pickup code from your "ready for pickup" message is the key. A wrong code is a
    403; wrong codes are throttled here per order and per address (then 429 with Retry-After) and
    never count towards locking the code at the hand-over, so nobody outside can lock a pickup.
    """
    limits, who = ratelimit.limits_of(request.app), ratelimit.address_of(request)
    ref = await run_in_threadpool(steer.location, db, store)
    try:
        wf = await run_in_threadpool(steer.pickup_at, db, ref, order)
        limits.check("curbside", caller=wf, address=who)
        state = await steer.update(
            client, wf, ARRIVED_UPDATE, CurbsideArrival(code=body.code, bay=body.bay)
        )
    except DomainError as err:
        if err.code == "wrong_code":
            limits.count("curbside", caller=wf, address=who)
            raise ApiError(403, "wrong_code", err.message) from None
        raise
    return ArrivedOut(
        order_number=state.order_number,
        bay=state.curbside_bay,
        message=f"Thank you! We are bringing order {state.order_number} "
        f"to bay {state.curbside_bay}.",
    )
