"""Fulfilment: staff tasks per location, parcels with their labels, the notification outbox, store
hours."""

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
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, _now

TASK_KINDS = ("pick", "pack", "ship", "handover")
TASK_STATUSES = ("open", "claimed", "done", "cancelled")


class StoreHoursRow(Base):
    """A store's opening interval on one weekday, in minutes after local midnight (no row:
    closed)."""

    __tablename__ = "store_hours"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0 = Monday
    opens_minute: Mapped[int] = mapped_column(Integer)
    closes_minute: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint(
            "opens_minute >= 0 AND opens_minute < closes_minute AND closes_minute <= 1440",
            name="minutes_range",
        ),
    )


class FulfilmentTask(Base):
    """One thing a person at a location must do for an online order; owned by its workflow."""

    __tablename__ = "fulfilment_tasks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(
        String(300), unique=True
    )  # the workflow's own id for it: retries find it
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # pick | pack | ship | handover
    status: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open | claimed | done | cancelled
    outcome: Mapped[str] = mapped_column(String(32), default="", server_default="")
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    order_workflow_id: Mapped[str] = mapped_column(String(200))
    order_number: Mapped[str] = mapped_column(String(64), index=True)
    customer_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _now()
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    curbside_bay: Mapped[str | None] = mapped_column(String(16))
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    __table_args__ = (
        CheckConstraint("kind IN ('pick', 'pack', 'ship', 'handover')", name="kind"),
        CheckConstraint("status IN ('open', 'claimed', 'done', 'cancelled')", name="status"),
        Index("ix_fulfilment_tasks_location_status_kind", "location_id", "status", "kind"),
    )


class Parcel(Base):
    """A packed parcel and the label bought for it."""

    __tablename__ = "parcels"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("fulfilment_tasks.id"))
    weight_g: Mapped[int] = mapped_column(Integer)
    length_cm: Mapped[int] = mapped_column(Integer)
    width_cm: Mapped[int] = mapped_column(Integer)
    height_cm: Mapped[int] = mapped_column(Integer)
    carrier: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str] = mapped_column(String(64))
    tracking_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    label_path: Mapped[str] = mapped_column(String(500))
    label_format: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = _now()


class OutboxNotice(Base):
    """A message to a customer or a store, written once per key; a relay (or the log) delivers
    it."""

    __tablename__ = "notification_outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # ready_for_pickup | pickup_reminder | … | pick_overdue
    channel: Mapped[str] = mapped_column(String(16))  # email | store
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200), index=True)  # the workflow it belongs to
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Delivery (issue 18, migration 0032_message_delivery; db/repositories/messages.py drains it):
    # pending -> sending (claimed) -> sent | pending again (backoff) | failed | bounced; rows for
    # the store (channel "store") are "skipped": the fulfilment board shows them.
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    store_code: Mapped[str | None] = mapped_column(String(32))  # whose staff see it
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
            name="status",
        ),
        Index("ix_notification_outbox_due", "status", "next_attempt_at"),
        Index("ix_notification_outbox_store_status", "store_code", "status"),
    )
