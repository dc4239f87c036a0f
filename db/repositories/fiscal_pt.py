"""Portugal's signed documents (issue 20): series rows locked while a document is numbered, the
documents themselves, and what the chain check and the SAF-T (PT) export read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location
from db.models_fiscal_pt import FiscalPtDocument, FiscalPtSeries
from domain.errors import Conflict, NotFound
from domain.fiscal_pt import ChainDocument, PtSeries


@dataclass(frozen=True)
class PtLocation:
    id: int
    code: str
    name: str
    timezone: str
    country: str


def location(session: Session, code: str) -> PtLocation:
    row = session.execute(
        select(
            Location.id, Location.code, Location.name, Location.timezone, Location.country
        ).where(Location.code == code)
    ).first()
    if row is None:
        raise NotFound(f"Location {code} does not exist.", code="location_not_found")
    return PtLocation(
        id=row.id, code=row.code, name=row.name, timezone=row.timezone, country=row.country or ""
    )


def find(session: Session, document_id: str, kind: str) -> FiscalPtDocument | None:
    return session.scalar(
        select(FiscalPtDocument).where(
            FiscalPtDocument.document_id == document_id, FiscalPtDocument.kind == kind
        )
    )


def invoice_of(session: Session, location_id: int, document_id: str) -> FiscalPtDocument | None:
    """The invoice (FS / FT) a return or void credits: the sale's signed document."""
    return session.scalar(
        select(FiscalPtDocument).where(
            FiscalPtDocument.location_id == location_id,
            FiscalPtDocument.document_id == document_id,
            FiscalPtDocument.doc_type.in_(("FS", "FT")),
        )
    )


def lock_series(session: Session, location_id: int, series: PtSeries) -> FiscalPtSeries:
    """The series row, created on first use and locked FOR UPDATE until the caller commits: one
    document at a time takes its next number and chains to its last signature."""
    session.execute(
        insert(FiscalPtSeries)
        .values(
            location_id=location_id,
            series=series.series,
            doc_type=series.doc_type,
            validation_code=series.validation_code,
            last_number=0,
            last_hash="",
        )
        .on_conflict_do_nothing(index_elements=["location_id", "series"])
    )
    row = session.scalar(
        select(FiscalPtSeries)
        .where(FiscalPtSeries.location_id == location_id, FiscalPtSeries.series == series.series)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None  # inserted above or already there
    if row.doc_type != series.doc_type or row.validation_code != series.validation_code:
        raise Conflict(
            f"Series {series.series} is registered here for {row.doc_type} with validation "
            f"code {row.validation_code}; the fiscal unit now says {series.doc_type} / "
            f"{series.validation_code}. A series never changes: register a new one at the AT.",
            code="pt_series_changed",
        )
    return row


def add(session: Session, series_row: FiscalPtSeries, document: FiscalPtDocument) -> None:
    """Store a signed document and move its (locked) series on to it."""
    session.add(document)
    series_row.last_number = document.number
    series_row.last_hash = document.hash
    series_row.last_system_entry = document.system_entry
    session.flush()


def chain(session: Session, location_id: int) -> list[ChainDocument]:
    rows = session.execute(
        select(FiscalPtDocument, FiscalPtSeries.series)
        .join(FiscalPtSeries, FiscalPtSeries.id == FiscalPtDocument.series_id)
        .where(FiscalPtDocument.location_id == location_id)
        .order_by(FiscalPtDocument.series_id, FiscalPtDocument.number)
    ).all()
    return [
        ChainDocument(
            document_id=doc.document_id,
            series=series,
            number=doc.number,
            invoice_no=doc.invoice_no,
            invoice_date=doc.invoice_date,
            system_entry=doc.system_entry,
            gross_total=doc.gross_total,
            hash=doc.hash,
            previous_hash=doc.previous_hash,
        )
        for doc, series in rows
    ]


def in_period(
    session: Session, location_id: int, date_from: date, date_to: date, till_code: str = ""
) -> list[FiscalPtDocument]:
    """The location's documents dated in [date_from, date_to], by type, series and number."""
    q = select(FiscalPtDocument).where(
        FiscalPtDocument.location_id == location_id,
        FiscalPtDocument.invoice_date >= date_from,
        FiscalPtDocument.invoice_date <= date_to,
    )
    if till_code:
        q = q.where(FiscalPtDocument.till_code == till_code)
    q = q.order_by(FiscalPtDocument.doc_type, FiscalPtDocument.series_id, FiscalPtDocument.number)
    return list(session.scalars(q))
