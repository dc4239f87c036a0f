"""The notification outbox: each message once per key; a relay (or the log) delivers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_fulfilment import OutboxNotice

CUSTOMER_CHANNELS = ("email", "sms")  # what the message drain sends


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    key: str
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    data: dict[str, Any]
    created_at: datetime


def add(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    reference: str,
    data: dict[str, Any],
) -> bool:
    """Queue a message; False when this key was queued before (a retry)."""
    inserted = session.execute(
        insert(OutboxNotice)
        .values(
            key=key,
            kind=kind,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            reference=reference,
            data=data,
            # Customer channels wait for the drain (db/repositories/messages.py); store notices
            # are the fulfilment board's. The store scopes who of the staff sees the row.
            status="pending" if channel in CUSTOMER_CHANNELS else "skipped",
            store_code=(recipient if channel == "store" else str(data.get("store") or ""))[:32]
            or None,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxNotice.id)
    ).scalar_one_or_none()
    return inserted is not None


def for_reference(session: Session, reference: str) -> list[OutboxEntry]:
    """The messages about one workflow, oldest first."""
    rows = session.scalars(
        select(OutboxNotice).where(OutboxNotice.reference == reference).order_by(OutboxNotice.id)
    )
    return [
        OutboxEntry(
            r.id,
            r.key,
            r.kind,
            r.channel,
            r.recipient,
            r.subject,
            r.body,
            r.reference,
            dict(r.data or {}),
            r.created_at,
        )
        for r in rows
    ]
