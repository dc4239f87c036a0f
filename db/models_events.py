"""Outbound events (issue 19): the event outbox (written in the same transaction as the business
change), the subscriptions of a retailer's middleware, and the dead letters an admin replays."""

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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class OutboxEvent(Base):
    """One business change as an event: its stable id, type, entity (delivery order) and data."""

    __tablename__ = "event_outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class EventSubscription(Base):
    """A receiver: URL, event types, signing secret (and the previous one while a rotation
    overlaps), and how far it has been sent the outbox (`cursor`: event_outbox.id)."""

    __tablename__ = "event_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    cursor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    delivered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class EventDeadLetter(Base):
    """An event a receiver did not accept for the whole retry window; an admin replays it."""

    __tablename__ = "event_dead_letters"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("event_subscriptions.id"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("event_outbox.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_status: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="dead", server_default="dead")
    dead_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("subscription_id", "outbox_id", name="uq_event_dead_letters_event"),
        CheckConstraint("status IN ('dead', 'replayed')", name="status"),
        Index("ix_event_dead_letters_status", "subscription_id", "status"),
    )
