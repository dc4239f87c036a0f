"""Cycle counts: the snapshot, the entries and the lines the Count workflow's activities write,
and what the API reads. The corrections themselves go through `stock.apply_movements`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location, Product, StockLevel, StockMovement, Variant
from db.models_counts import StockCount, StockCountEntry, StockCountLine
from domain.counts import Entry


@dataclass(frozen=True)
class CountRow:
    count_id: str
    workflow_id: str
    location_id: int
    location_code: str
    status: str
    note: str
    started_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None
    snapshot_movement_id: int
    lines: tuple[StockCountLine, ...]


def _levels_locked(session: Session, location_id: int, skus: Sequence[str]) -> dict[str, int]:
    """on_hand of each SKU, share-locked in SKU order: a movement in flight commits first (its
    level is locked with its ledger row), so what is read here and the ledger agree."""
    rows = session.execute(
        select(StockLevel.sku, StockLevel.on_hand)
        .where(StockLevel.location_id == location_id, StockLevel.sku.in_(list(skus)))
        .order_by(StockLevel.sku)
        .with_for_update(read=True)
    ).all()
    return {sku: on_hand for sku, on_hand in rows}


def last_movement_id(session: Session, location_id: int | None = None, sku: str = "") -> int:
    q = select(func.coalesce(func.max(StockMovement.id), 0))
    if location_id is not None:
        q = q.where(StockMovement.location_id == location_id, StockMovement.sku == sku)
    return int(session.scalar(q) or 0)


def create(
    session: Session,
    *,
    code: str,
    workflow_id: str,
    location_id: int,
    skus: Sequence[str],
    created_by: int | None,
    note: str,
    at: datetime,
) -> StockCount:
    """The count with its snapshot of on_hand per SKU, once (a retry finds what it made)."""
    found = lock(session, workflow_id)
    if found is not None:
        return found
    on_hand = _levels_locked(session, location_id, skus)
    count = StockCount(
        code=code,
        workflow_id=workflow_id,
        location_id=location_id,
        status="counting",
        note=note,
        created_by=created_by,
        snapshot_movement_id=last_movement_id(session),
        started_at=at,
    )
    session.add(count)
    session.flush()
    session.add_all(
        StockCountLine(count_id=count.id, sku=sku, snapshot_on_hand=on_hand.get(sku, 0), round=1)
        for sku in sorted(skus)
    )
    session.flush()
    return count


def lock(session: Session, workflow_id: str) -> StockCount | None:
    return session.scalars(
        select(StockCount)
        .where(StockCount.workflow_id == workflow_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lines(session: Session, count_id: int) -> list[StockCountLine]:
    return list(
        session.scalars(
            select(StockCountLine)
            .where(StockCountLine.count_id == count_id)
            .order_by(StockCountLine.sku)
            .execution_options(populate_existing=True)
        )
    )


def add_entries(
    session: Session,
    *,
    count_id: int,
    rows: Sequence[tuple[str, str, str, int]],  # (key, sku, bin, quantity)
    round_no: int,
    entered_by: int | None,
    at: datetime,
) -> int:
    """Record entries; returns how many were new (0: a retry of this batch)."""
    if not rows:
        return 0
    made = session.execute(
        insert(StockCountEntry)
        .values(
            [
                {
                    "count_id": count_id,
                    "entry_key": key,
                    "sku": sku,
                    "bin": bin_,
                    "quantity": qty,
                    "round": round_no,
                    "entered_by": entered_by,
                    "entered_at": at,
                }
                for key, sku, bin_, qty in rows
            ]
        )
        .on_conflict_do_nothing(index_elements=["entry_key"])
        .returning(StockCountEntry.id)
    ).all()
    return len(made)


def entries(session: Session, count_id: int, sku: str, round_no: int) -> list[Entry]:
    rows = session.execute(
        select(
            StockCountEntry.id, StockCountEntry.sku, StockCountEntry.bin, StockCountEntry.quantity
        )
        .where(
            StockCountEntry.count_id == count_id,
            StockCountEntry.sku == sku,
            StockCountEntry.round == round_no,
        )
        .order_by(StockCountEntry.id)
    ).all()
    return [Entry(seq, s, b, q) for seq, s, b, q in rows]


def expected_now(session: Session, location_id: int, skus: Sequence[str]) -> dict[str, int]:
    """What the ledger holds of each SKU at this moment (snapshot + every movement since)."""
    return _levels_locked(session, location_id, skus)


def unit_costs(session: Session, skus: Collection[str]) -> dict[str, int | None]:
    rows = session.execute(
        select(Variant.sku, Product.cost_price)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.sku.in_(list(skus)))
    )
    return {sku: cost for sku, cost in rows}


def by_workflow(session: Session, workflow_id: str) -> CountRow | None:
    return _row(session, StockCount.workflow_id == workflow_id)


def by_code(session: Session, code: str) -> CountRow | None:
    return _row(session, StockCount.code == code)


def _row(session: Session, where: object) -> CountRow | None:
    found = session.execute(
        select(StockCount, Location.code)
        .join(Location, Location.id == StockCount.location_id)
        .where(where)  # type: ignore[arg-type]  # a column comparison
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        return None
    c, code = found
    return CountRow(
        count_id=c.code,
        workflow_id=c.workflow_id,
        location_id=c.location_id,
        location_code=code,
        status=c.status,
        note=c.note,
        started_at=c.started_at,
        submitted_at=c.submitted_at,
        closed_at=c.closed_at,
        snapshot_movement_id=c.snapshot_movement_id,
        lines=tuple(lines(session, c.id)),
    )


def page(
    session: Session,
    *,
    location_ids: Collection[int] | None,
    status: str | None = None,
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[CountRow], int]:
    """Counts at the given locations (None: all), newest first, and how many match."""
    q = select(StockCount.workflow_id)
    if location_ids is not None:
        q = q.where(StockCount.location_id.in_(list(location_ids)))
    if status:
        q = q.where(StockCount.status == status)
    total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    ids = session.scalars(
        q.order_by(StockCount.id.desc()).limit(per_page).offset((page_no - 1) * per_page)
    ).all()
    rows = [by_workflow(session, wf) for wf in ids]
    return [r for r in rows if r is not None], total
