"""The API's own bookkeeping (idempotency records) and the append-only audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import AuditEntry, IdempotencyRecord
from db.repositories import audit_trail


def idempotency_record(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    return session.get(IdempotencyRecord, (scope, key))


def save_idempotency_record(
    session: Session, *, scope: str, key: str, request_hash: str, status_code: int, body: Any
) -> None:
    session.execute(
        insert(IdempotencyRecord)
        .values(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response_body=body,
        )
        .on_conflict_do_nothing()
    )


def audit(
    session: Session,
    *,
    action: str,
    subject: str,
    actor_user_id: int | None = None,
    workflow_id: str | None = None,
    detail: dict[str, Any] | None = None,
    location_id: int | None = None,
) -> audit_trail.Appended:
    """Append one row to the hash-chained audit log, in the caller's transaction: the ONE writer
    of audit_log. The row goes to its location's chain: `location_id`, else what the subject or
    detail names ("till:BER1", "location:BER", detail["till"] / ["store"] …), else "central"."""
    body = detail or {}
    if location_id is None:
        location_id = audit_trail.resolve_location(session, subject, body)
    return audit_trail.append(
        session,
        action=action,
        subject=subject,
        actor_user_id=actor_user_id,
        workflow_id=workflow_id,
        detail=body,
        location_id=location_id,
    )


def audit_entries(session: Session, subject: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
        )
    )
