"""The exception queue: online orders someone has to look at (unknown SKU, no stock), never
dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_webstore import OrderException


@dataclass(frozen=True)
class NewException:
    workflow_id: str
    source: str
    store_code: str
    external_id: str
    kind: str
    sku: str
    reason: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ExceptionView:
    id: int
    workflow_id: str
    source: str
    store_code: str
    external_id: str
    kind: str
    sku: str
    reason: str
    detail: dict[str, Any]
    status: str
    created_at: datetime


def raise_exception(session: Session, new: NewException) -> None:
    """Open (or re-open) the entry for this order, kind and SKU: once per combination."""
    session.execute(
        insert(OrderException)
        .values(**new.__dict__, status="open")
        .on_conflict_do_update(
            index_elements=["workflow_id", "kind", "sku"],
            set_={
                "status": "open",
                "reason": new.reason,
                "detail": new.detail,
                "updated_at": func.now(),
            },
        )
    )


def resolve_for_order(session: Session, workflow_id: str) -> int:
    """The order went through after all: its open entries are resolved."""
    return (
        session.execute(  # type: ignore[attr-defined]  # DML executes to a CursorResult
            update(OrderException)
            .where(OrderException.workflow_id == workflow_id, OrderException.status == "open")
            .values(status="resolved", updated_at=func.now())
        ).rowcount
        or 0
    )


def locked(session: Session, exception_id: int) -> ExceptionView | None:
    """The entry, its row locked until the transaction ends: the order's own re-raise of it (an
    upsert) waits, so a retry that fails again re-opens it after this transaction, never before."""
    row = session.get(OrderException, exception_id, with_for_update=True)
    return _view(row) if row is not None else None


def resolve(session: Session, exception_id: int) -> ExceptionView | None:
    row = session.get(OrderException, exception_id, with_for_update=True)
    if row is None:
        return None
    row.status = "resolved"
    row.updated_at = func.now()
    session.flush()
    session.refresh(row)
    return _view(row)


def listing(
    session: Session,
    *,
    status: str | None = "open",
    workflow_id: str | None = None,
    limit: int = 200,
) -> list[ExceptionView]:
    q = select(OrderException).order_by(OrderException.id.desc()).limit(limit)
    if status:
        q = q.where(OrderException.status == status)
    if workflow_id:
        q = q.where(OrderException.workflow_id == workflow_id)
    return [_view(r) for r in session.scalars(q)]


def _view(r: OrderException) -> ExceptionView:
    return ExceptionView(
        r.id,
        r.workflow_id,
        r.source,
        r.store_code,
        r.external_id,
        r.kind,
        r.sku,
        r.reason,
        dict(r.detail or {}),
        r.status,
        r.created_at,
    )
