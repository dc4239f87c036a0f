"""Fiscal signing (issue 20): each location's fiscal unit and every signed document.

`fiscal_units` says how a location signs (its scheme and that scheme's settings: a fiskaly TSS and
client, Portuguese document series); a location without a row signs nothing. `fiscal_records`
keeps one row per signed document (a sale, a return or void, a closing): what its receipt printed
and what an audit needs, with the document as it was signed, so exports are built from them and a
pending signature can be completed on recovery. A record is written once; a pending one becomes
signed once, and never changes after that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class FiscalUnitRow(Base):
    __tablename__ = "fiscal_units"
    __table_args__ = (
        CheckConstraint("scheme IN ('none', 'de-fiskaly', 'pt-at')", name="known_scheme"),
    )
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class FiscalRecord(Base):
    __tablename__ = "fiscal_records"
    __table_args__ = (
        UniqueConstraint("document_id", "kind"),
        CheckConstraint("status IN ('signed', 'pending', 'not_required')", name="known_status"),
        CheckConstraint("kind IN ('sale', 'return', 'void', 'closing')", name="known_kind"),
        Index("ix_fiscal_records_location_occurred", "location_id", "occurred_at"),
        Index(
            "ix_fiscal_records_pending",
            "location_id",
            "occurred_at",
            postgresql_where="status = 'pending'",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    till_code: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    receipt_lines: Mapped[list[str]] = mapped_column(JSONB, default=list)
    qr: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[list[str]]] = mapped_column(JSONB, default=list)  # ordered pairs
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the FiscalDocument as signed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
