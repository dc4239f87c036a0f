"""Stock levels and the append-only movement ledger.

Every change of on_hand is a ledger row with an idempotency key, written in the same
transaction as the level update, so a retried activity applies each movement once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import StockLevel, StockMovement


@dataclass(frozen=True)
class Movement:
    sku: str
    delta: int
    reason: str
    reference: str
    idempotency_key: str
    bucket: str = "sellable"  # or "quarantine": returned goods awaiting inspection


@dataclass(frozen=True)
class Applied:
    sku: str
    delta: int
    applied: bool  # False: this key was applied before (a retry)
    on_hand_before: int
    available_before: int  # on_hand - reserved - safety_stock, before this movement


@dataclass(frozen=True)
class Level:
    location_id: int
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety_stock


def _lock_levels(session: Session, location_id: int, skus: Sequence[str]) -> dict[str, StockLevel]:
    # Create missing rows, then lock in primary-key order so two baskets never deadlock.
    wanted = sorted(set(skus))
    session.execute(
        insert(StockLevel)
        .values([{"location_id": location_id, "sku": s, "on_hand": 0, "reserved": 0,
                  "safety_stock": 0} for s in wanted])
        .on_conflict_do_nothing()
    )
    rows = session.scalars(
        select(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.sku.in_(wanted))
        .order_by(StockLevel.sku)
        .with_for_update()
    ).all()
    return {r.sku: r for r in rows}


def apply_movements(
    session: Session,
    location_id: int,
    movements: Sequence[Movement],
    *,
    workflow_id: str | None,
    occurred_at: datetime,
) -> list[Applied]:
    """Write ledger rows and move on_hand; a movement whose key exists already is skipped."""
    if not movements:
        return []
    levels = _lock_levels(session, location_id, [m.sku for m in movements])
    # All ledger rows in one statement; the keys that went in are the movements that apply.
    written = set(session.scalars(
        insert(StockMovement)
        .values([
            {"location_id": location_id, "sku": m.sku, "delta": m.delta, "bucket": m.bucket, "reason": m.reason,
             "reference": m.reference, "workflow_id": workflow_id, "idempotency_key": m.idempotency_key,
             "occurred_at": occurred_at}
            for m in movements
        ])
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(StockMovement.idempotency_key)
    ))
    out: list[Applied] = []
    for m in movements:
        level = levels[m.sku]
        before_on_hand = level.on_hand
        before_available = level.on_hand - level.reserved - level.safety_stock
        applies = m.idempotency_key in written
        written.discard(m.idempotency_key)  # a key twice in one batch applies once
        if applies and m.bucket == "quarantine":
            level.quarantined += m.delta
        elif applies:
            level.on_hand += m.delta
        out.append(Applied(m.sku, m.delta, applies, before_on_hand, before_available))
    session.flush()
    return out


def movements_with_key_prefix(session: Session, prefix: str) -> list[StockMovement]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.idempotency_key.like(escaped + "%", escape="\\"))
            .order_by(StockMovement.id)
        )
    )


def level(session: Session, location_id: int, sku: str) -> Level | None:
    row = session.get(StockLevel, (location_id, sku))
    if row is None:
        return None
    return Level(row.location_id, row.sku, row.on_hand, row.reserved, row.safety_stock)


def levels_for_sku(session: Session, sku: str) -> list[Level]:
    rows = session.scalars(select(StockLevel).where(StockLevel.sku == sku))
    return [Level(r.location_id, r.sku, r.on_hand, r.reserved, r.safety_stock) for r in rows]


def ledger_mismatches(session: Session) -> list[tuple[int, str, str, int, int]]:
    """(location, sku, bucket, level, ledger sum) wherever a level is not the sum of its movements."""
    out: list[tuple[int, str, str, int, int]] = []
    for bucket, column in (("sellable", StockLevel.on_hand), ("quarantine", StockLevel.quarantined)):
        sums = (
            select(StockMovement.location_id, StockMovement.sku, func.sum(StockMovement.delta).label("total"))
            .where(StockMovement.bucket == bucket)
            .group_by(StockMovement.location_id, StockMovement.sku)
            .subquery()
        )
        total = func.coalesce(sums.c.total, 0)
        rows = session.execute(
            select(StockLevel.location_id, StockLevel.sku, column, total)
            .outerjoin(sums, (sums.c.location_id == StockLevel.location_id) & (sums.c.sku == StockLevel.sku))
            .where(column != total)
        )
        out += [(loc, sku, bucket, level, int(t)) for loc, sku, level, t in rows]
    return out
