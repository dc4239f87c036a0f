"""The stock-sync queue: SKUs whose available-to-promise changed (a trigger on stock_levels writes
it)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_webstore import StockSyncEntry


def due(
    session: Session, *, debounce_ms: int, max_delay_ms: int, limit: int = 500
) -> list[tuple[str, int]]:
    """(sku, version) quiet for the debounce window, or waiting longer than the maximum delay."""
    quiet = func.clock_timestamp() - text(f"interval '{int(debounce_ms)} milliseconds'")
    overdue = func.clock_timestamp() - text(f"interval '{int(max_delay_ms)} milliseconds'")
    rows = session.execute(
        select(StockSyncEntry.sku, StockSyncEntry.version)
        .where(or_(StockSyncEntry.changed_at <= quiet, StockSyncEntry.first_changed_at <= overdue))
        .order_by(StockSyncEntry.first_changed_at)
        .limit(limit)
    )
    return [(sku, int(v)) for sku, v in rows]


def pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StockSyncEntry)) or 0


def ack(session: Session, entries: Sequence[tuple[str, int]]) -> int:
    """Forget what was pushed; a SKU changed again meanwhile (newer version) stays queued."""
    if not entries:
        return 0
    return (
        session.execute(  # type: ignore[attr-defined]  # DML executes to a CursorResult
            delete(StockSyncEntry).where(
                tuple_(StockSyncEntry.sku, StockSyncEntry.version).in_(list(entries))
            )
        ).rowcount
        or 0
    )


def enqueue(session: Session, skus: Sequence[str]) -> None:
    """Queue SKUs as if they had changed (used by tests and manual resyncs)."""
    for sku in skus:
        session.execute(
            insert(StockSyncEntry)
            .values(sku=sku, version=1)
            .on_conflict_do_update(
                index_elements=["sku"],
                set_={"version": StockSyncEntry.version + 1, "changed_at": func.clock_timestamp()},
            )
        )
