"""Transfers between locations: the records the Transfer workflow's activities write, and what the
API reads. Stock itself moves only through `stock.apply_movements` and `reservations`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from db.models import Location, Product, Variant
from db.models_tills import StockVariance
from db.models_transfers import Transfer, TransferDelivery, TransferLine


@dataclass(frozen=True)
class PlaceRef:
    id: int
    code: str
    active: bool


@dataclass(frozen=True)
class LineRow:
    line_no: int
    sku: str
    requested: int
    picked: int | None
    received: int
    short: int
    over: int


@dataclass(frozen=True)
class DeliveryRow:
    delivery_no: int
    lines: dict[str, int]
    received_by: int | None
    received_at: datetime


@dataclass(frozen=True)
class TransferRow:
    transfer_id: str
    workflow_id: str
    status: str
    source_location_id: int
    source_code: str
    destination_location_id: int
    destination_code: str
    note: str
    order_workflow_id: str
    requested_by: int | None
    requested_at: datetime
    picked_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str
    lines: tuple[LineRow, ...]
    deliveries: tuple[DeliveryRow, ...] = ()


def place(session: Session, code: str) -> PlaceRef | None:
    row = session.execute(
        select(Location.id, Location.code, Location.active).where(Location.code == code)
    ).first()
    return None if row is None else PlaceRef(*row)


def stocked_skus(session: Session, skus: Collection[str]) -> dict[str, bool]:
    """{sku: tracks stock} for the SKUs that exist (active variants of active products)."""
    rows = session.execute(
        select(Variant.sku, Product.tracks_stock)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(list(skus)), Variant.active, Product.active)
    )
    return {sku: bool(tracks) for sku, tracks in rows}


def create(
    session: Session,
    *,
    code: str,
    workflow_id: str,
    source_location_id: int,
    destination_location_id: int,
    lines: Sequence[tuple[str, int]],
    requested_by: int | None,
    note: str,
    order_workflow_id: str,
    at: datetime,
) -> Transfer:
    """The transfer and its lines, once (a retry finds the row it made)."""
    session.execute(
        insert(Transfer)
        .values(
            code=code,
            workflow_id=workflow_id,
            source_location_id=source_location_id,
            destination_location_id=destination_location_id,
            status="requested",
            note=note,
            order_workflow_id=order_workflow_id,
            requested_by=requested_by,
            requested_at=at,
        )
        .on_conflict_do_nothing(index_elements=["workflow_id"])
    )
    transfer = lock(session, workflow_id)
    assert transfer is not None
    session.execute(
        insert(TransferLine)
        .values(
            [
                {"transfer_id": transfer.id, "line_no": n, "sku": sku, "requested": qty}
                for n, (sku, qty) in enumerate(lines, start=1)
            ]
        )
        .on_conflict_do_nothing()
    )
    return transfer


def lock(session: Session, workflow_id: str) -> Transfer | None:
    """The transfer, locked for this transaction (its steps run one at a time)."""
    return session.scalars(
        select(Transfer)
        .where(Transfer.workflow_id == workflow_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lines(session: Session, transfer_id: int) -> list[TransferLine]:
    return list(
        session.scalars(
            select(TransferLine)
            .where(TransferLine.transfer_id == transfer_id)
            .order_by(TransferLine.line_no)
            .execution_options(populate_existing=True)
        )
    )


def add_delivery(
    session: Session,
    *,
    transfer_id: int,
    delivery_no: int,
    lines: dict[str, int],
    received_by: int | None,
    at: datetime,
) -> bool:
    """Record one delivery; False when it was recorded before (a retry)."""
    made = session.execute(
        insert(TransferDelivery)
        .values(
            transfer_id=transfer_id,
            delivery_no=delivery_no,
            lines=lines,
            received_by=received_by,
            received_at=at,
        )
        .on_conflict_do_nothing(index_elements=["transfer_id", "delivery_no"])
        .returning(TransferDelivery.id)
    ).scalar_one_or_none()
    return made is not None


def delivery_count(session: Session, transfer_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TransferDelivery)
            .where(TransferDelivery.transfer_id == transfer_id)
        )
        or 0
    )


def record_shortage(
    session: Session,
    *,
    source_location_id: int,
    workflow_id: str,
    transfer_code: str,
    line_no: int,
    sku: str,
    picked: int,
    received: int,
    at: datetime,
) -> None:
    """A shortage becomes a variance at the source (the exceptions list managers resolve); once."""
    session.execute(
        insert(StockVariance)
        .values(
            location_id=source_location_id,
            sku=sku,
            till_id=None,
            workflow_id=workflow_id,
            order_number=transfer_code,
            line_no=line_no,
            quantity_sold=picked,  # what left the source
            on_hand_before=received,  # what arrived
            quantity_short=picked - received,
            reason="transfer_short",
            status="open",
            sold_at=at,
        )
        .on_conflict_do_nothing(index_elements=["workflow_id", "line_no"])
    )


# ---- reading ---------------------------------------------------------------------------------

_SRC, _DST = aliased(Location), aliased(Location)


def _query():  # type: ignore[no-untyped-def]  # a Select of a tuple
    return (
        select(Transfer, _SRC.code, _DST.code)
        .join(_SRC, _SRC.id == Transfer.source_location_id)
        .join(_DST, _DST.id == Transfer.destination_location_id)
    )


def _row(session: Session, t: Transfer, src: str, dst: str, *, deliveries: bool) -> TransferRow:
    found = lines(session, t.id)
    out: tuple[DeliveryRow, ...] = ()
    if deliveries:
        out = tuple(
            DeliveryRow(d.delivery_no, dict(d.lines), d.received_by, d.received_at)
            for d in session.scalars(
                select(TransferDelivery)
                .where(TransferDelivery.transfer_id == t.id)
                .order_by(TransferDelivery.delivery_no)
            )
        )
    return TransferRow(
        transfer_id=t.code,
        workflow_id=t.workflow_id,
        status=t.status,
        source_location_id=t.source_location_id,
        source_code=src,
        destination_location_id=t.destination_location_id,
        destination_code=dst,
        note=t.note,
        order_workflow_id=t.order_workflow_id,
        requested_by=t.requested_by,
        requested_at=t.requested_at,
        picked_at=t.picked_at,
        closed_at=t.closed_at,
        cancel_reason=t.cancel_reason,
        lines=tuple(
            LineRow(ln.line_no, ln.sku, ln.requested, ln.picked, ln.received, ln.short, ln.over)
            for ln in found
        ),
        deliveries=out,
    )


def by_code(session: Session, code: str) -> TransferRow | None:
    found = session.execute(
        _query().where(Transfer.code == code).execution_options(populate_existing=True)
    ).first()
    if found is None:
        return None
    t, src, dst = found
    return _row(session, t, src, dst, deliveries=True)


def by_workflow(session: Session, workflow_id: str) -> TransferRow | None:
    found = session.execute(
        _query()
        .where(Transfer.workflow_id == workflow_id)
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        return None
    t, src, dst = found
    return _row(session, t, src, dst, deliveries=False)


def page(
    session: Session,
    *,
    location_ids: Collection[int] | None,
    location_id: int | None = None,
    status: str | None = None,
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[TransferRow], int]:
    """Transfers from or to the given locations (None: all), newest first, and how many match."""
    q = _query()
    if location_ids is not None:
        ids = list(location_ids)
        q = q.where(
            or_(Transfer.source_location_id.in_(ids), Transfer.destination_location_id.in_(ids))
        )
    if location_id is not None:
        q = q.where(
            or_(
                Transfer.source_location_id == location_id,
                Transfer.destination_location_id == location_id,
            )
        )
    if status:
        q = q.where(Transfer.status == status)
    total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    rows = session.execute(
        q.order_by(Transfer.id.desc()).limit(per_page).offset((page_no - 1) * per_page)
    ).all()
    return [_row(session, t, s, d, deliveries=False) for t, s, d in rows], total


def unlink_order(session: Session, workflow_id: str, order_workflow_id: str) -> bool:
    """A ship-to-store transfer whose order was cancelled after the pick: what arrives goes on
    the shelf, not to the order (True: it was linked to that order)."""
    t = lock(session, workflow_id)
    if t is None or t.order_workflow_id != order_workflow_id:
        return False
    t.order_workflow_id = ""
    return True
