"""Transfers between locations: request (managers), pick at the source and receive at the
destination (store staff there), cancel before the pick (managers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import idempotency
from api.deps import ClientDep, DbDep, IdempotencyKey, PrincipalDep, SettingsDep
from api.errors import ApiError, error_responses
from api.permissions import require_location, require_manager_of, require_role
from api.schemas_transfers import (
    CancelBody,
    DeliveryOut,
    PickBody,
    ReceiveBody,
    TransferIn,
    TransferLineOut,
    TransferOut,
    TransferPage,
)
from contracts.transfer import (
    CancelIn,
    PickIn,
    ReceiveIn,
    TransferLineIn,
    TransferRequest,
    cancel_transfer,
    pick_transfer,
    receive_transfer,
    request_transfer,
)
from db.repositories import transfers
from db.repositories.users import Principal
from db.session import Database
from domain.errors import InvalidRequest, NotFound

router = APIRouter(tags=["stock operations"])
TransferId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
STAFF = ("manager", "cashier", "fulfilment")  # who may pick and receive at their own store


async def once(
    db: Database,
    principal: Principal,
    scope: str,
    key: str | None,
    request: Any,
    status: int,
    run: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    """Run a write once per Idempotency-Key (per caller and route); replays get the first answer."""
    return await idempotency.once(
        db, f"stock:{principal.user_id}:{scope}", key, request, run, status=status
    )


def visible(principal: Principal) -> frozenset[int] | None:
    """The locations whose stock the caller may see (None: all)."""
    return None if principal.role in ("admin", "finance") else principal.location_ids


def transfer_out(row: transfers.TransferRow) -> TransferOut:
    return TransferOut(
        transfer_id=row.transfer_id,
        status=row.status,  # type: ignore[arg-type]  # a CHECK constraint holds it to the Literal
        source=row.source_code,
        destination=row.destination_code,
        note=row.note,
        order=row.order_workflow_id,
        requested_at=row.requested_at,
        picked_at=row.picked_at,
        closed_at=row.closed_at,
        cancel_reason=row.cancel_reason,
        lines=[
            TransferLineOut(
                sku=ln.sku,
                requested=ln.requested,
                picked=ln.picked,
                received=ln.received,
                in_transit=max(0, (ln.picked or 0) - ln.received - ln.short)
                if ln.picked is not None and row.status == "picked"
                else 0,
                short=ln.short,
                over=ln.over,
            )
            for ln in row.lines
        ],
        deliveries=[
            DeliveryOut(delivery_no=d.delivery_no, lines=d.lines, received_at=d.received_at)
            for d in row.deliveries
        ],
    )


def _load(db: Database, principal: Principal, transfer_id: str) -> transfers.TransferRow:
    """The transfer if the caller works at its source or destination; 404 for anyone else."""
    with db.unit_of_work() as s:
        row = transfers.by_code(s, transfer_id)
    seen = visible(principal)
    if row is None or (
        seen is not None and not {row.source_location_id, row.destination_location_id} & seen
    ):
        raise NotFound(f"There is no transfer {transfer_id} at your locations.")
    return row


def _reload(db: Database, principal: Principal, transfer_id: str) -> TransferOut:
    return transfer_out(_load(db, principal, transfer_id))


def _staff_at(principal: Principal, location_id: int, code: str, doing: str) -> None:
    if principal.role != "admin" and principal.role not in STAFF:
        raise ApiError(403, "forbidden", f"A {principal.role} cannot {doing} transfers.")
    require_location(principal, location_id, code)


def _places(db: Database, body: TransferIn) -> tuple[transfers.PlaceRef, transfers.PlaceRef]:
    with db.unit_of_work() as s:
        src, dst = transfers.place(s, body.source), transfers.place(s, body.destination)
        skus = {ln.sku for ln in body.lines}
        known = transfers.stocked_skus(s, skus)
    for code, ref in ((body.source, src), (body.destination, dst)):
        if ref is None or not ref.active:
            raise NotFound(f"There is no active location {code}.", code="unknown_location")
    assert src is not None and dst is not None
    if src.id == dst.id:
        raise InvalidRequest("Source and destination must be different locations.")
    unknown = sorted(skus - set(known))
    if unknown:
        raise NotFound(f"Unknown SKU(s): {', '.join(unknown)}.", code="unknown_sku")
    return src, dst


def _lines(lines: list[Any]) -> tuple[TransferLineIn, ...]:
    return tuple(TransferLineIn(sku=ln.sku, quantity=ln.quantity) for ln in lines)


@router.post(
    "/stock/transfers",
    response_model=TransferOut,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def create_transfer(
    body: TransferIn,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the source or the destination (or an admin) requests a transfer; its units
    are held at the source at once (409 out_of_stock when they are not available there)."""
    src, dst = await run_in_threadpool(_places, db, body)
    require_manager_of(principal, {src.id, dst.id}, f"{src.code} or {dst.code}")

    async def run() -> TransferOut:
        view = await request_transfer(
            client,
            TransferRequest(
                transfer_id=f"TR-{uuid.uuid4().hex[:12].upper()}",
                source_location_id=src.id,
                source_code=src.code,
                destination_location_id=dst.id,
                destination_code=dst.code,
                lines=_lines(body.lines),
                requested_by=principal.user_id,
                note=body.note,
            ),
            task_queue=settings.backoffice_task_queue,
        )
        return await run_in_threadpool(_reload, db, principal, view.transfer_id)

    return await once(db, principal, "transfers", idempotency_key, body.model_dump(), 201, run)


@router.get(
    "/stock/transfers", response_model=TransferPage, responses=error_responses(401, 403, 404, 422)
)
def list_transfers(
    principal: PrincipalDep,
    db: DbDep,
    location: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(pattern=r"^(requested|picked|received|cancelled)$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TransferPage:
    """Transfers from or to the caller's locations (admins and finance: all), newest first."""
    require_role(principal, *STAFF, "finance")
    with db.unit_of_work() as s:
        loc_id = None
        if location:
            ref = transfers.place(s, location)
            if ref is None:
                raise NotFound(f"There is no location {location}.")
            require_location(principal, ref.id, location)
            loc_id = ref.id
        rows, total = transfers.page(
            s,
            location_ids=visible(principal),
            location_id=loc_id,
            status=status,
            page_no=page,
            per_page=per_page,
        )
    return TransferPage(
        items=[transfer_out(r) for r in rows], page=page, per_page=per_page, total=total
    )


@router.get(
    "/stock/transfers/{transfer_id}",
    response_model=TransferOut,
    responses=error_responses(401, 403, 404),
)
def get_transfer(transfer_id: TransferId, principal: PrincipalDep, db: DbDep) -> TransferOut:
    """A transfer with its lines (requested, picked, received, in transit, short, over) and its
    deliveries; only for staff of its source or destination."""
    return _reload(db, principal, transfer_id)


@router.post(
    "/stock/transfers/{transfer_id}/pick",
    response_model=TransferOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def pick(
    transfer_id: TransferId,
    body: PickBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Staff of the source record what they picked (fewer than requested is fine): it leaves
    sellable stock there and shows as in transit at the destination."""
    row = await run_in_threadpool(_load, db, principal, transfer_id)
    _staff_at(principal, row.source_location_id, row.source_code, "pick")

    async def run() -> TransferOut:
        await pick_transfer(
            client,
            transfer_id,
            PickIn(lines=_lines(body.lines), picked_by=principal.user_id),
            row.status,
        )
        return await run_in_threadpool(_reload, db, principal, transfer_id)

    return await once(
        db, principal, f"pick:{transfer_id}", idempotency_key, body.model_dump(), 200, run
    )


@router.post(
    "/stock/transfers/{transfer_id}/receive",
    response_model=TransferOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def receive(
    transfer_id: TransferId,
    body: ReceiveBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Staff of the destination count in one delivery (send `close: true` with the last, or when
    nothing more will come: what is still missing becomes a shortage at the source)."""
    row = await run_in_threadpool(_load, db, principal, transfer_id)
    _staff_at(principal, row.destination_location_id, row.destination_code, "receive")

    async def run() -> TransferOut:
        await receive_transfer(
            client,
            transfer_id,
            ReceiveIn(lines=_lines(body.lines), received_by=principal.user_id, close=body.close),
            row.status,
        )
        return await run_in_threadpool(_reload, db, principal, transfer_id)

    return await once(
        db, principal, f"receive:{transfer_id}", idempotency_key, body.model_dump(), 200, run
    )


@router.post(
    "/stock/transfers/{transfer_id}/cancel",
    response_model=TransferOut,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel(
    transfer_id: TransferId,
    body: CancelBody,
    principal: PrincipalDep,
    db: DbDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A manager of the source or destination cancels a transfer that has not been picked (the
    held units are given back); a picked transfer is a 409 `transfer_picked`."""
    row = await run_in_threadpool(_load, db, principal, transfer_id)
    require_manager_of(
        principal,
        {row.source_location_id, row.destination_location_id},
        f"{row.source_code} or {row.destination_code}",
    )

    async def run() -> TransferOut:
        await cancel_transfer(
            client,
            transfer_id,
            CancelIn(cancelled_by=principal.user_id, reason=body.reason),
            row.status,
        )
        return await run_in_threadpool(_reload, db, principal, transfer_id)

    return await once(
        db, principal, f"cancel:{transfer_id}", idempotency_key, body.model_dump(), 200, run
    )
