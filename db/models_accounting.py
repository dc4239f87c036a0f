"""The accounting export (migration 0025): each exported journal entry of a store, once — a
business day's entry, or an adjusting entry posted on the day a late arrival was learned — with
its lines and a hash. Never rewritten; written only by AccountingActivities.export."""

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
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class JournalExport(Base):
    __tablename__ = "journal_exports"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    export_date: Mapped[date] = mapped_column(Date)  # the business day it is posted on
    covers_date: Mapped[date] = mapped_column(Date)  # the day whose figures it holds
    kind: Mapped[str] = mapped_column(String(16))  # day | adjustment
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # J-{store}-{date}[-ADJ-…]
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    total: Mapped[int] = mapped_column(BigInteger)  # the debits (= the credits)
    content_hash: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (
        UniqueConstraint("location_id", "export_date", "covers_date"),
        CheckConstraint("kind IN ('day', 'adjustment')", name="kind"),
        CheckConstraint("(kind = 'day') = (export_date = covers_date)", name="day_covers_itself"),
        Index("ix_journal_exports_location_id_covers_date", "location_id", "covers_date"),
    )
