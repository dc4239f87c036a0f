"""Transfers between locations (migration 0019): the transfer, its lines and each delivery
received at the destination. Written only by the Transfer workflow's activities."""

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
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base

TRANSFER_STATES = ("requested", "picked", "received", "cancelled")


class Transfer(Base):
    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the transfer id, e.g. TR-1A2B…
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)  # transfer:{code}
    source_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    destination_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Ship-to-store: the online order whose pickup waits for these goods ("" = none).
    order_workflow_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    picked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    picked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'picked', 'received', 'cancelled')", name="status"
        ),
        CheckConstraint("source_location_id <> destination_location_id", name="two_places"),
    )


class TransferLine(Base):
    __tablename__ = "transfer_lines"
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    requested: Mapped[int] = mapped_column(Integer)
    picked: Mapped[int | None] = mapped_column(Integer)  # NULL until picked
    received: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    short: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # at close
    over: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # at close
    __table_args__ = (
        UniqueConstraint("transfer_id", "sku"),
        CheckConstraint("requested > 0", name="requested_positive"),
        CheckConstraint("picked IS NULL OR picked >= 0", name="picked_positive"),
        CheckConstraint("received >= 0", name="received_positive"),
    )


class TransferDelivery(Base):
    """One delivery counted in at the destination (a transfer may arrive in several)."""

    __tablename__ = "transfer_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    delivery_no: Mapped[int] = mapped_column(Integer)
    lines: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {sku: units received}
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("transfer_id", "delivery_no"),
        Index("ix_transfer_deliveries_transfer_id", "transfer_id"),
    )
