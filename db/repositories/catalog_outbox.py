"""The catalogue outbox (db/models_catalog.py): written beside every catalogue change, read by
CatalogSync and by the tills' snapshot refresh."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models_catalog import CatalogChange
from db.repositories import events  # outbound events (issue 19)

Action = Literal["upsert", "delete"]


def record(
    session: Session,
    product_code: str,
    action: Action = "upsert",
    *,
    fields: Sequence[str] = (),
    source: str = "tillflow",
    detail: dict[str, Any] | None = None,
) -> int:
    """Add one change in the caller's transaction (it commits with the change or not at all)."""
    row = CatalogChange(
        product_code=product_code,
        action=action,
        fields=sorted(set(fields)),
        source=source,
        detail=detail or {},
    )
    session.add(row)
    session.flush()
    events.product_changed(session, row.id, product_code, action, fields, source)  # issue 19
    return row.id


def latest_id(session: Session) -> int:
    """The catalogue's version: the newest change's id (0 before any change)."""
    return session.scalar(select(func.coalesce(func.max(CatalogChange.id), 0))) or 0


def since(session: Session, after_id: int, limit: int = 500) -> list[CatalogChange]:
    """Changes after `after_id`, oldest first."""
    return list(
        session.scalars(
            select(CatalogChange)
            .where(CatalogChange.id > after_id)
            .order_by(CatalogChange.id)
            .limit(limit)
        )
    )
