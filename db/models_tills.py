"""Tables of the till's offline mode: card limits per store, uploaded journal entries, variances,
collections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class OfflineCardPolicy(Base):
    """Whether a store's tills may take cards while offline, and the limits (no row = not
    allowed)."""

    __tablename__ = "offline_card_policies"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    per_sale_cap: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cap: Mapped[int] = mapped_column(BigInteger, default=0)
    max_age_hours: Mapped[int] = mapped_column(Integer, default=24)
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("per_sale_cap >= 0 AND total_cap >= 0", name="caps_positive"),
        CheckConstraint("max_age_hours > 0 AND max_age_hours <= 24", name="max_age_range"),
    )


class OfflineJournalEntry(Base):
    """A sale a till made offline, as uploaded; the UNIQUE (till, client id) keeps each one once."""

    __tablename__ = "offline_journal_entries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"))
    client_sale_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    batch_id: Mapped[str] = mapped_column(String(64))  # the first batch that carried it
    cashier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sold_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)  # lines and tenders; never a card number
    status: Mapped[str] = mapped_column(String(16), default="received")
    order_number: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("till_id", "client_sale_id"),
        CheckConstraint("status IN ('received', 'applied', 'flagged')", name="status"),
        Index("ix_offline_journal_entries_status", "status"),
    )


class StockVariance(Base):
    """Stock that was not there when an offline sale was applied: counted by a manager, never
    dropped."""

    __tablename__ = "stock_variances"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("variants.sku"))
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id"))
    workflow_id: Mapped[str] = mapped_column(String(200))
    order_number: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer)
    quantity_sold: Mapped[int] = mapped_column(Integer)
    on_hand_before: Mapped[int] = mapped_column(Integer)
    quantity_short: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    sold_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("workflow_id", "line_no"),
        CheckConstraint("quantity_short > 0", name="short_positive"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        Index("ix_stock_variances_location_id_status", "location_id", "status"),
    )


class CollectionTask(Base):
    """A card payment taken offline whose capture was declined: collect the money from the
    customer."""

    __tablename__ = "collection_tasks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"))
    workflow_id: Mapped[str] = mapped_column(String(200))
    client_sale_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_brand: Mapped[str] = mapped_column(String(16), default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    card_reference: Mapped[str] = mapped_column(
        String(200), default=""
    )  # the terminal's token, not a card number
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    receipt: Mapped[dict[str, Any]] = mapped_column(JSONB)  # what the customer's receipt showed
    sold_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('open', 'collected', 'written_off')", name="status"),
        Index("ix_collection_tasks_location_id_status", "location_id", "status"),
    )
