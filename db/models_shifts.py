"""Till shifts (migration 0021): a shift of a till from its counted float to its Z report, the
till's cash ledger rows of the shift, the per-till counters that keep shift and Z numbers
gap-free, and the stored Z reports. Written only by the Shift workflow's activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Shift(Base):
    __tablename__ = "shifts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)  # shift:{till}:{n}
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"))
    n: Mapped[int] = mapped_column(Integer)  # per till, 1, 2, ... without gaps
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    # open | review (variance waits for a manager) | closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    float_count: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {denomination: pieces}
    float_amount: Mapped[int] = mapped_column(BigInteger)
    # The float against what the last closed shift of the till left in the drawer.
    float_difference: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # store hours
    flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_count: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # cash by denomination
    counted: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # {tender: amount}
    left_in_drawer: Mapped[int | None] = mapped_column(BigInteger)
    variance: Mapped[int | None] = mapped_column(BigInteger)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approval_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    z_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("till_id", "n"),
        UniqueConstraint("till_id", "z_number"),
        CheckConstraint("status IN ('open', 'review', 'closed')", name="status"),
        # One shift of a till is open (or waiting for its manager) at a time.
        Index(
            "uq_shifts_till_id_unclosed",
            "till_id",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
    )


class ShiftEvent(Base):
    """A cash movement a cashier made during a shift: one row of the till's cash ledger.
    (Cash taken in sales, change and cash refunds are read from the payments of the till.)"""

    __tablename__ = "shift_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    # sale_cash | change | refund_cash | paid_in | paid_out | drop | no_sale
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    reference: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("shift_id", "seq"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(
            "kind IN ('sale_cash', 'change', 'refund_cash', 'paid_in', 'paid_out', 'drop',"
            " 'no_sale')",
            name="kind",
        ),
    )


class ShiftCounter(Base):
    """The last shift and Z numbers of a till, bumped in the transaction that uses them, so a
    rolled-back open or close leaves no gap."""

    __tablename__ = "shift_counters"
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"), primary_key=True)
    last_z: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ZReport(Base):
    __tablename__ = "z_reports"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id"), unique=True)
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"))
    z_number: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    escpos: Mapped[bytes | None] = mapped_column(LargeBinary)  # the bytes sent to the printer
    printed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (UniqueConstraint("till_id", "z_number"),)
