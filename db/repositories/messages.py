"""Delivery of the notification outbox (issue 18): claim due messages, record each attempt's
outcome, recover rows left "sending", list what staff should look at, put one back to pending.

A message is sent at most once: it is claimed ("sending", attempts + 1) in one transaction before
the send and marked in another after it. A row still "sending" past its lease belongs to a worker
that died mid-send; it may or may not have gone out, so it is marked failed (staff can retry it)
and never sent again by the drain on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, true, update
from sqlalchemy.orm import Session

from db.models import Customer, Location, Order
from db.models_fulfilment import FulfilmentTask, OutboxNotice
from db.repositories.outbox import CUSTOMER_CHANNELS

STAFF_STATUSES = ("pending", "sending", "failed", "bounced")
INTERRUPTED = (
    "interrupted while sending (the worker stopped): it may or may not have been delivered; "
    "retry sends it again"
)


@dataclass(frozen=True)
class Claimed:
    """A message a drain holds for one send."""

    id: int
    key: str
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    reference: str
    store_code: str | None
    data: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class MessageRow:
    """One outbox row as staff see it (no body: it may carry a pickup code)."""

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    reference: str
    store_code: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    provider_id: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class StoreFacts:
    """What a message says about its store."""

    id: int
    code: str
    name: str
    address: str
    timezone: str
    country: str | None


def _claimed(r: OutboxNotice) -> Claimed:
    return Claimed(
        r.id,
        r.key,
        r.kind,
        r.channel,
        r.recipient,
        r.subject,
        r.body,
        r.reference,
        r.store_code,
        dict(r.data or {}),
        r.attempts,
        r.created_at,
    )


def _row(r: OutboxNotice) -> MessageRow:
    return MessageRow(
        r.id,
        r.kind,
        r.channel,
        r.recipient,
        r.subject,
        r.reference,
        r.store_code,
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.last_attempt_at,
        r.last_error,
        r.provider_id,
        r.created_at,
        r.sent_at,
    )


def _of(stores: Sequence[str]) -> Any:
    return OutboxNotice.store_code.in_(stores) if stores else true()


def recover_interrupted(
    session: Session, now: datetime, lease: timedelta, stores: Sequence[str] = ()
) -> int:
    """Rows "sending" for longer than the lease: failed, with why (never resent on their own)."""
    result = session.execute(
        update(OutboxNotice)
        .where(OutboxNotice.status == "sending", OutboxNotice.claimed_at < now - lease, _of(stores))
        .values(status="failed", last_error=INTERRUPTED, claimed_at=None)
        .returning(OutboxNotice.id)
    )
    return len(result.all())


def expire_stale(
    session: Session, now: datetime, max_age: timedelta, stores: Sequence[str] = ()
) -> int:
    """Pending rows older than `max_age` (e.g. written before delivery existed): failed."""
    result = session.execute(
        update(OutboxNotice)
        .where(
            OutboxNotice.status == "pending",
            OutboxNotice.channel.in_(CUSTOMER_CHANNELS),
            OutboxNotice.created_at < now - max_age,
            _of(stores),
        )
        .values(
            status="failed",
            last_error=f"not sent within {max_age} of being queued; retry sends it now",
        )
        .returning(OutboxNotice.id)
    )
    return len(result.all())


def _due(now: datetime, stores: Sequence[str] = ()) -> Any:
    due = and_(
        OutboxNotice.status == "pending",
        OutboxNotice.channel.in_(CUSTOMER_CHANNELS),
        or_(OutboxNotice.next_attempt_at.is_(None), OutboxNotice.next_attempt_at <= now),
    )
    return and_(due, OutboxNotice.store_code.in_(stores)) if stores else due


def claim_due(
    session: Session, now: datetime, limit: int, stores: Sequence[str] = ()
) -> list[Claimed]:
    """Take up to `limit` due messages, oldest first (rows another drain holds are skipped);
    `stores`: only theirs."""
    rows = list(
        session.scalars(
            select(OutboxNotice)
            .where(_due(now, stores))
            .order_by(OutboxNotice.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for r in rows:
        r.status = "sending"
        r.claimed_at = now
        r.last_attempt_at = now
        r.attempts = r.attempts + 1
    session.flush()
    return [_claimed(r) for r in rows]


def claim_one(session: Session, message_id: int, now: datetime) -> Claimed | None:
    """Take this message if it is due now (None: sent, held by a drain, or waiting)."""
    row = session.scalar(
        select(OutboxNotice)
        .where(OutboxNotice.id == message_id, _due(now))
        .with_for_update(skip_locked=True)
    )
    if row is None:
        return None
    row.status = "sending"
    row.claimed_at = now
    row.last_attempt_at = now
    row.attempts = row.attempts + 1
    session.flush()
    return _claimed(row)


def mark_sent(session: Session, message_id: int, now: datetime, provider_id: str) -> None:
    session.execute(
        update(OutboxNotice)
        .where(OutboxNotice.id == message_id, OutboxNotice.status == "sending")
        .values(
            status="sent",
            sent_at=now,
            provider_id=provider_id[:200] or None,
            claimed_at=None,
            next_attempt_at=None,
            last_error=None,
        )
    )


def mark_retry(session: Session, message_id: int, next_at: datetime, error: str) -> None:
    session.execute(
        update(OutboxNotice)
        .where(OutboxNotice.id == message_id, OutboxNotice.status == "sending")
        .values(status="pending", next_attempt_at=next_at, claimed_at=None, last_error=error)
    )


def mark_given_up(
    session: Session, message_id: int, status: str, error: str, provider_id: str = ""
) -> None:
    """failed or bounced, for good (until staff retry)."""
    session.execute(
        update(OutboxNotice)
        .where(OutboxNotice.id == message_id, OutboxNotice.status == "sending")
        .values(
            status=status,
            claimed_at=None,
            next_attempt_at=None,
            last_error=error,
            provider_id=provider_id[:200] or None,
        )
    )


def message(session: Session, message_id: int) -> MessageRow | None:
    row = session.get(OutboxNotice, message_id)
    return _row(row) if row is not None else None


def requeue(session: Session, message_id: int, now: datetime) -> bool:
    """A failed or bounced message back to pending, due now, its attempts counted afresh; False
    when it is in no state to retry (already sent, pending, or being sent)."""
    result = session.execute(
        update(OutboxNotice)
        .where(
            OutboxNotice.id == message_id,
            OutboxNotice.status.in_(("failed", "bounced")),
            OutboxNotice.channel.in_(CUSTOMER_CHANNELS),
        )
        .values(status="pending", attempts=0, next_attempt_at=now, claimed_at=None)
        .returning(OutboxNotice.id)
    )
    return result.scalar_one_or_none() is not None


def for_staff(
    session: Session,
    *,
    store_codes: Sequence[str] | None,
    statuses: Sequence[str],
    before: int | None,
    limit: int,
) -> list[MessageRow]:
    """Customer messages in these states, newest first; `store_codes` None: every store's."""
    q = select(OutboxNotice).where(
        OutboxNotice.status.in_(statuses), OutboxNotice.channel.in_(CUSTOMER_CHANNELS)
    )
    if store_codes is not None:
        q = q.where(OutboxNotice.store_code.in_(store_codes))
    if before is not None:
        q = q.where(OutboxNotice.id < before)
    return [_row(r) for r in session.scalars(q.order_by(OutboxNotice.id.desc()).limit(limit))]


def store_facts(session: Session, code: str | None) -> StoreFacts | None:
    if not code:
        return None
    loc = session.scalar(select(Location).where(Location.code == code))
    if loc is None:
        return None
    return StoreFacts(loc.id, loc.code, loc.name, loc.address or "", loc.timezone, loc.country)


def customer_name(session: Session, workflow_id: str) -> str:
    """The name the fulfilment workflow's tasks carry for its customer ("" when none)."""
    name = session.scalar(
        select(FulfilmentTask.customer_name)
        .where(FulfilmentTask.workflow_id == workflow_id, FulfilmentTask.customer_name != "")
        .limit(1)
    )
    return name or ""


def location_codes(session: Session, location_ids: Sequence[int]) -> list[str]:
    return list(session.scalars(select(Location.code).where(Location.id.in_(location_ids))))


def id_by_key(session: Session, key: str) -> int | None:
    return session.scalar(select(OutboxNotice.id).where(OutboxNotice.key == key))


@dataclass(frozen=True)
class SaleRef:
    workflow_id: str
    location_id: int | None
    customer_email: str | None


def sale_by_number(session: Session, number: str) -> SaleRef | None:
    """A recorded order by its receipt number, with its customer's e-mail (if any)."""
    row = session.execute(
        select(Order.workflow_id, Order.location_id, Customer.email)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(Order.number == number)
    ).first()
    return SaleRef(row[0], row[1], row[2]) if row else None
