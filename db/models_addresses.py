"""Shipping addresses of orders and the carriers' tracking updates of their parcels (issue 19)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, _now


class OrderAddress(Base):
    """Where an order ships to, as the web store or the shopper gave it (one per order)."""

    __tablename__ = "order_addresses"
    order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200))
    lines: Mapped[list[str]] = mapped_column(JSONB)  # street first, then flat / company lines
    city: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(50))
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = _now()


class TrackingEvent(Base):
    """A carrier's tracking update of a parcel, once per (provider, event key)."""

    __tablename__ = "tracking_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))  # shippo
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    tracking_number: Mapped[str] = mapped_column(String(64), index=True)
    carrier: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))  # PRE_TRANSIT | TRANSIT | DELIVERED | ...
    status_details: Mapped[str] = mapped_column(Text)
    status_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # parcels.id; no foreign key: parcels come from the fulfilment branch of the migrations
    parcel_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _now()
