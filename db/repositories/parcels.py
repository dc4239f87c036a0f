"""Parcels packed for ship-from-store orders and their labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_fulfilment import Parcel


@dataclass(frozen=True)
class ParcelView:
    id: int
    workflow_id: str
    location_id: int
    task_id: int | None
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int
    carrier: str
    tracking_number: str
    tracking_url: str
    label_path: str
    label_format: str
    created_at: datetime


def _view(p: Parcel) -> ParcelView:
    return ParcelView(
        p.id,
        p.workflow_id,
        p.location_id,
        p.task_id,
        p.weight_g,
        p.length_cm,
        p.width_cm,
        p.height_cm,
        p.carrier,
        p.tracking_number,
        p.tracking_url,
        p.label_path,
        p.label_format,
        p.created_at,
    )


def record(
    session: Session,
    *,
    key: str,
    workflow_id: str,
    location_id: int,
    task_id: int | None,
    weight_g: int,
    length_cm: int,
    width_cm: int,
    height_cm: int,
    carrier: str,
    tracking_number: str,
    tracking_url: str,
    label_path: str,
    label_format: str,
) -> ParcelView:
    """Insert once per key; a retry gets the parcel that is already there."""
    session.execute(
        insert(Parcel)
        .values(
            key=key,
            workflow_id=workflow_id,
            location_id=location_id,
            task_id=task_id,
            weight_g=weight_g,
            length_cm=length_cm,
            width_cm=width_cm,
            height_cm=height_cm,
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            label_path=label_path,
            label_format=label_format,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return _view(session.scalars(select(Parcel).where(Parcel.key == key)).one())


def for_task(session: Session, task_id: int) -> ParcelView | None:
    row = session.scalars(
        select(Parcel).where(Parcel.task_id == task_id).order_by(Parcel.id.desc())
    ).first()
    return _view(row) if row else None


def for_workflow(session: Session, workflow_id: str) -> list[ParcelView]:
    return [
        _view(p)
        for p in session.scalars(
            select(Parcel).where(Parcel.workflow_id == workflow_id).order_by(Parcel.id)
        )
    ]


def by_tracking(session: Session, location_id: int, tracking_number: str) -> ParcelView | None:
    row = session.scalars(
        select(Parcel).where(
            Parcel.location_id == location_id, Parcel.tracking_number == tracking_number
        )
    ).first()
    return _view(row) if row else None
