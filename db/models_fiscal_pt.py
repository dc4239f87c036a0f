"""Portugal's certified-software documents (issue 20): each document series with its last number
and signature, and every signed document with what its chain, its receipt and SAF-T (PT) need.

A series row is locked (SELECT ... FOR UPDATE) while its next document is numbered, signed and
stored in the same transaction: numbers are gap-free and strictly sequential per series, and each
document's signature chains to the previous one's. A document is written once and never changes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class FiscalPtSeries(Base):
    __tablename__ = "fiscal_pt_series"
    __table_args__ = (
        UniqueConstraint("location_id", "series"),
        CheckConstraint("doc_type IN ('FS', 'FT', 'NC')", name="known_doc_type"),
        CheckConstraint("last_number >= 0", name="last_number_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    series: Mapped[str] = mapped_column(String(40))
    doc_type: Mapped[str] = mapped_column(String(2))
    validation_code: Mapped[str] = mapped_column(String(64))
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(Text, default="")
    last_system_entry: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FiscalPtDocument(Base):
    __tablename__ = "fiscal_pt_documents"
    __table_args__ = (
        UniqueConstraint("document_id", "kind"),
        UniqueConstraint("series_id", "number"),
        CheckConstraint("doc_type IN ('FS', 'FT', 'NC')", name="known_doc_type"),
        CheckConstraint("status IN ('N', 'A')", name="known_status"),
        Index("ix_fiscal_pt_documents_location_date", "location_id", "invoice_date"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    till_code: Mapped[str] = mapped_column(String(64))
    series_id: Mapped[int] = mapped_column(ForeignKey("fiscal_pt_series.id"))
    doc_type: Mapped[str] = mapped_column(String(2))
    number: Mapped[int] = mapped_column(Integer)
    invoice_no: Mapped[str] = mapped_column(String(60))
    atcud: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(1), default="N")
    invoice_date: Mapped[date] = mapped_column(Date)
    # Portuguese local time, to the second, exactly as signed
    system_entry: Mapped[datetime] = mapped_column(DateTime)
    gross_total: Mapped[int] = mapped_column(BigInteger)  # cents, positive (an NC too)
    net_total: Mapped[int] = mapped_column(BigInteger)
    tax_payable: Mapped[int] = mapped_column(BigInteger)
    buyer_nif: Mapped[str] = mapped_column(String(30))
    hash: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(Text)
    hash_control: Mapped[str] = mapped_column(String(70))
    refers_to: Mapped[str] = mapped_column(String(60), default="")  # an NC: the invoice it credits
    qr: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the FiscalDocument as signed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
