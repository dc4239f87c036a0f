"""The webhook inbox: each provider event once (the UNIQUE constraint is the dedupe)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_payments import WebhookEvent


def record(session: Session, *, provider: str, event_id: str, topic: str, payload: Any) -> int | None:
    """Store a delivery; None when this provider event id was stored before (a duplicate)."""
    return session.execute(
        insert(WebhookEvent)
        .values(provider=provider, event_id=event_id, topic=topic, payload=payload, status="received")
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(WebhookEvent.id)
    ).scalar_one_or_none()


def mark(session: Session, inbox_id: int, *, status: str, workflow_id: str | None) -> None:
    session.execute(update(WebhookEvent).where(WebhookEvent.id == inbox_id)
                    .values(status=status, workflow_id=workflow_id))


def events(session: Session, provider: str) -> list[WebhookEvent]:
    return list(session.scalars(select(WebhookEvent).where(WebhookEvent.provider == provider)
                                .order_by(WebhookEvent.id)))


def find(session: Session, provider: str, event_id: str) -> WebhookEvent | None:
    """The stored delivery of this provider event id, if any."""
    return session.scalar(select(WebhookEvent).where(WebhookEvent.provider == provider,
                                                     WebhookEvent.event_id == event_id))
