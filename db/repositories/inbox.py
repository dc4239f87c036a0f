"""The webhook inbox: each provider event once (the UNIQUE constraint is the dedupe)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_payments import WebhookEvent


def record(
    session: Session | Connection, *, provider: str, event_id: str, topic: str, payload: Any
) -> int | None:
    """Store a delivery; None when this provider event id was stored before (a duplicate).

    A Connection in autocommit mode makes it a one-statement transaction (web store webhooks)."""
    return session.execute(
        insert(WebhookEvent)
        .values(
            provider=provider, event_id=event_id, topic=topic, payload=payload, status="received"
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(WebhookEvent.id)
    ).scalar_one_or_none()


def mark(session: Session, inbox_id: int, *, status: str, workflow_id: str | None) -> None:
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == inbox_id)
        .values(status=status, workflow_id=workflow_id)
    )


def events(session: Session, provider: str) -> list[WebhookEvent]:
    return list(
        session.scalars(
            select(WebhookEvent).where(WebhookEvent.provider == provider).order_by(WebhookEvent.id)
        )
    )


def find(session: Session, provider: str, event_id: str) -> WebhookEvent | None:
    """The stored delivery of this provider event id, if any."""
    return session.scalar(
        select(WebhookEvent).where(
            WebhookEvent.provider == provider, WebhookEvent.event_id == event_id
        )
    )


def pending(
    session: Session, providers: tuple[str, ...], received_before: datetime, limit: int = 500
) -> list[WebhookEvent]:
    """Deliveries of these providers never handed over (still `received`), oldest first."""
    return list(
        session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.provider.in_(providers),
                WebhookEvent.status == "received",
                WebhookEvent.received_at < received_before,
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )


def mark_many(session: Session, marks: list[tuple[int, str, str | None]]) -> None:
    """(inbox id, status, workflow id) for many deliveries in one statement (bulk update by primary
    key)."""
    if marks:
        session.execute(
            update(WebhookEvent),
            [{"id": i, "status": st, "workflow_id": wf} for i, st, wf in marks],
        )
