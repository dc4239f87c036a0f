"""Order shipping addresses and carriers' tracking updates (issue 19)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location, Order
from db.models_addresses import OrderAddress, TrackingEvent
from db.models_fulfilment import FulfilmentTask, OutboxNotice, Parcel
from db.repositories.parcels import ParcelView
from db.repositories.parcels import _view as parcel_view
from domain.online_orders import ShippingAddress


def save(session: Session, order_number: str, address: ShippingAddress) -> None:
    """Store the order's address once (a retry keeps the first)."""
    order_id = session.scalar(select(Order.id).where(Order.number == order_number))
    if order_id is None:
        return
    session.execute(
        insert(OrderAddress)
        .values(
            order_id=order_id,
            name=address.name,
            lines=list(address.lines),
            city=address.city,
            postcode=address.postcode,
            region=address.region,
            country=address.country,
            phone=address.phone,
        )
        .on_conflict_do_nothing(index_elements=["order_id"])
    )


def for_order(session: Session, order_number: str) -> ShippingAddress | None:
    row = session.scalars(
        select(OrderAddress)
        .join(Order, Order.id == OrderAddress.order_id)
        .where(Order.number == order_number)
    ).first()
    if row is None:
        return None
    return ShippingAddress(
        name=row.name,
        lines=tuple(row.lines),
        city=row.city,
        postcode=row.postcode,
        region=row.region,
        country=row.country,
        phone=row.phone,
    )


def _email(session: Session, order_number: str, workflow_id: str) -> str:
    """The order's customer's email, else where the fulfilment's messages went ("": none)."""
    from db.models import Customer

    email = session.scalar(
        select(Customer.email)
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.number == order_number)
    )
    if not email:
        email = session.scalar(
            select(OutboxNotice.recipient)
            .where(OutboxNotice.reference == workflow_id, OutboxNotice.channel == "email")
            .order_by(OutboxNotice.id)
            .limit(1)
        )
    return email or ""


@dataclass(frozen=True)
class ParcelOwner:
    """Whose parcel a tracking number is: for the customer's message."""

    parcel_id: int
    workflow_id: str
    order_number: str
    customer_name: str
    email: str  # "" when no customer message went out for it
    store_code: str


def parcel_owner(session: Session, tracking_number: str) -> ParcelOwner | None:
    """The (latest) parcel with this tracking number and the customer its messages went to."""
    row = session.execute(
        select(
            Parcel.id, Parcel.workflow_id, FulfilmentTask.order_number, FulfilmentTask.customer_name
        )
        .outerjoin(FulfilmentTask, FulfilmentTask.id == Parcel.task_id)
        .where(Parcel.tracking_number == tracking_number)
        .order_by(Parcel.id.desc())
    ).first()
    if row is None:
        return None
    store = session.scalar(
        select(Location.code)
        .join(Parcel, Parcel.location_id == Location.id)
        .where(Parcel.id == row.id)
    )
    return ParcelOwner(
        row.id,
        row.workflow_id,
        row.order_number or "",
        row.customer_name or "",
        _email(session, row.order_number or "", row.workflow_id),
        store or "",
    )


@dataclass(frozen=True)
class TrackingView:
    id: int
    provider: str
    tracking_number: str
    carrier: str
    status: str
    status_details: str
    status_date: datetime | None
    parcel_id: int | None
    created_at: datetime


def _view(e: TrackingEvent) -> TrackingView:
    return TrackingView(
        e.id,
        e.provider,
        e.tracking_number,
        e.carrier,
        e.status,
        e.status_details,
        e.status_date,
        e.parcel_id,
        e.created_at,
    )


def record_tracking(
    session: Session,
    *,
    provider: str,
    event_key: str,
    tracking_number: str,
    carrier: str,
    status: str,
    status_details: str,
    status_date: datetime | None,
    parcel_id: int | None,
) -> bool:
    """Store one tracking update; False when this event key was stored before (a retry)."""
    inserted = session.execute(
        insert(TrackingEvent)
        .values(
            provider=provider,
            event_key=event_key,
            tracking_number=tracking_number,
            carrier=carrier,
            status=status,
            status_details=status_details,
            status_date=status_date,
            parcel_id=parcel_id,
        )
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(TrackingEvent.id)
    ).scalar_one_or_none()
    return inserted is not None


def tracking(session: Session, tracking_number: str) -> list[TrackingView]:
    """A parcel's tracking updates, oldest first (the last is its status)."""
    return [
        _view(e)
        for e in session.scalars(
            select(TrackingEvent)
            .where(TrackingEvent.tracking_number == tracking_number)
            .order_by(TrackingEvent.id)
        )
    ]


@dataclass(frozen=True)
class LabelContext:
    """What a carrier needs beyond the packer's report: the addresses, and the parcel when this
    key bought its label before (a retry buys nothing twice)."""

    ship_to: ShippingAddress | None
    ship_from: ShippingAddress | None
    email: str
    bought: ParcelView | None


def label_context(
    session: Session, *, key: str, order_number: str, location_id: int, workflow_id: str
) -> LabelContext:
    from domain.addresses import location_address

    loc = session.get(Location, location_id)
    origin = (
        location_address(loc.name, loc.address or "", loc.country or "")
        if loc is not None
        else None
    )
    email = _email(session, order_number, workflow_id)
    row = session.scalars(select(Parcel).where(Parcel.key == key)).first()
    return LabelContext(
        for_order(session, order_number),
        origin,
        email,
        parcel_view(row) if row is not None else None,
    )
