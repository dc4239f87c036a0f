"""Cycle counts (migration 0019): a count of some SKUs at a location, its lines (the snapshot and
the result) and every entry staff made. Written only by the Count workflow's activities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class StockCount(Base):
    __tablename__ = "stock_counts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the count id, e.g. CT-…
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)  # count:{location}:{code}
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    # counting | review (over the threshold: recount or manager) | applied | cancelled
    status: Mapped[str] = mapped_column(String(16), default="counting")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The ledger's last movement id when the snapshot was taken.
    snapshot_movement_id: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (
        CheckConstraint("status IN ('counting', 'review', 'applied', 'cancelled')", name="status"),
    )


class StockCountLine(Base):
    """One SKU of a count: on hand at the snapshot, and what the last entry found against what
    the ledger held at that moment."""

    __tablename__ = "stock_count_lines"
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"), primary_key=True)
    snapshot_on_hand: Mapped[int] = mapped_column(Integer)
    counted: Mapped[int | None] = mapped_column(Integer)  # NULL: not counted yet
    # on_hand at the last entry = snapshot + every movement between the snapshot and the entry.
    expected: Mapped[int | None] = mapped_column(Integer)
    counted_movement_id: Mapped[int | None] = mapped_column(BigInteger)
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_counted: Mapped[int | None] = mapped_column(Integer)  # the count a recount checks
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    applied_delta: Mapped[int | None] = mapped_column(Integer)


class StockCountEntry(Base):
    """What a person counted in one bin at one moment; per bin the latest entry counts."""

    __tablename__ = "stock_count_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id"))
    entry_key: Mapped[str] = mapped_column(String(300), unique=True)  # {workflow}:entry:{n}:{i}
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    bin: Mapped[str] = mapped_column(String(64), default="", server_default="")
    quantity: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_positive"),
        Index("ix_stock_count_entries_count_id_sku", "count_id", "sku"),
    )
