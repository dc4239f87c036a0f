"""What the DSFinV-K export of a German store reads (issue 20): the location and its tills, the
signed documents of a date range (`fiscal_records`: each one's lines, VAT, tenders and TSE data as
the receipt printed them), the documents a return or void refers to, and the day closings (closed
shifts with their Z number). One query per table; nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Location, Till
from db.models_fiscal import FiscalRecord
from db.models_shifts import Shift


@dataclass(frozen=True)
class StoreRow:
    id: int
    code: str
    name: str
    address: str
    country: str
    timezone: str
    currency: str


@dataclass(frozen=True)
class TillRow:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class RecordRow:
    id: int
    document_id: str
    kind: str
    till_code: str
    status: str
    number: str
    occurred_at: datetime
    signed_at: datetime | None
    fields: dict[str, str]
    document: dict[str, Any]


@dataclass(frozen=True)
class ClosingRow:
    till_code: str
    workflow_id: str
    z_number: int
    opened_at: datetime
    closed_at: datetime


def store(session: Session, code: str) -> StoreRow | None:
    row = session.execute(
        select(
            Location.id,
            Location.code,
            Location.name,
            Location.address,
            Location.country,
            Location.timezone,
            Location.currency,
        ).where(Location.code == code)
    ).one_or_none()
    if row is None:
        return None
    return StoreRow(
        id=row.id,
        code=row.code,
        name=row.name,
        address=row.address or "",
        country=row.country or "",
        timezone=row.timezone,
        currency=row.currency,
    )


def tills(session: Session, location_id: int, till_code: str = "") -> list[TillRow]:
    stmt = select(Till.id, Till.code, Till.name).where(Till.location_id == location_id)
    if till_code:
        stmt = stmt.where(Till.code == till_code)
    return [
        TillRow(id=r.id, code=r.code, name=r.name)
        for r in session.execute(stmt.order_by(Till.code))
    ]


def records(
    session: Session, location_id: int, start: datetime, end: datetime, till_code: str = ""
) -> list[RecordRow]:
    """The documents (sales, returns, voids) of [start, end), in the order they happened."""
    stmt = select(FiscalRecord).where(
        FiscalRecord.location_id == location_id,
        FiscalRecord.occurred_at >= start,
        FiscalRecord.occurred_at < end,
        FiscalRecord.kind.in_(("sale", "return", "void")),
    )
    if till_code:
        stmt = stmt.where(FiscalRecord.till_code == till_code)
    rows = session.scalars(stmt.order_by(FiscalRecord.occurred_at, FiscalRecord.id))
    return [_record(r) for r in rows]


def records_by_document(session: Session, document_ids: Sequence[str]) -> dict[str, RecordRow]:
    """The sale records that returns and voids refer to (possibly outside the range)."""
    if not document_ids:
        return {}
    rows = session.scalars(
        select(FiscalRecord).where(
            FiscalRecord.document_id.in_(list(document_ids)), FiscalRecord.kind == "sale"
        )
    )
    return {r.document_id: _record(r) for r in rows}


def closings(
    session: Session, location_id: int, start: datetime, end: datetime, till_code: str = ""
) -> list[ClosingRow]:
    """The day closings (closed shifts with a Z number) of the location's tills that end in or
    after `start`, up to the first one that ends at or after `end` (it closes the last day)."""
    stmt = (
        select(Shift.workflow_id, Shift.z_number, Shift.opened_at, Shift.closed_at, Till.code)
        .join(Till, Till.id == Shift.till_id)
        .where(
            Shift.location_id == location_id,
            Shift.closed_at.is_not(None),
            Shift.z_number.is_not(None),
            Shift.closed_at >= start,
            Shift.opened_at < end,
        )
    )
    if till_code:
        stmt = stmt.where(Till.code == till_code)
    return [
        ClosingRow(
            till_code=r.code,
            workflow_id=r.workflow_id,
            z_number=int(r.z_number),
            opened_at=r.opened_at,
            closed_at=r.closed_at,
        )
        for r in session.execute(stmt.order_by(Till.code, Shift.closed_at))
    ]


def _record(r: FiscalRecord) -> RecordRow:
    return RecordRow(
        id=r.id,
        document_id=r.document_id,
        kind=r.kind,
        till_code=r.till_code,
        status=r.status,
        number=r.number,
        occurred_at=r.occurred_at,
        signed_at=r.signed_at,
        fields={str(k): str(v) for k, v in (r.fields or [])},
        document=dict(r.document or {}),
    )
