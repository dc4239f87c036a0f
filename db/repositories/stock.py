"""Stock levels and the append-only movement ledger.

Every change of on_hand is a ledger row with an idempotency key, written in the same
transaction as the level update, so a retried activity applies each movement once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.models import StockLevel, StockMovement
from db.repositories import events  # outbound events (issue 19)
from db.session import core


@dataclass(frozen=True)
class Movement:
    sku: str
    delta: int
    reason: str
    reference: str
    idempotency_key: str
    # "sellable" (on_hand) | "quarantine": returned goods awaiting inspection (quarantined) |
    # "in_transit": on its way here from another location (in_transit)
    bucket: str = "sellable"


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


# The hot path of every sale: two fixed statements (prepared by psycopg after a few runs) with
# the rows as arrays, instead of per-call ORM statements and an ORM flush.
_WRITE_LEDGER = text("""
    INSERT INTO stock_movements
        (location_id, sku, delta, bucket, reason, reference, workflow_id, idempotency_key,
         occurred_at)
    SELECT CAST(:location_id AS integer), m.sku, m.delta, m.bucket, m.reason, m.reference,
           CAST(:workflow_id AS varchar), m.key, CAST(:occurred_at AS timestamptz)
    FROM unnest(CAST(:skus AS varchar[]), CAST(:deltas AS integer[]), CAST(:buckets AS varchar[]),
                CAST(:reasons AS varchar[]), CAST(:references AS varchar[]),
                CAST(:keys AS varchar[]))
         AS m(sku, delta, bucket, reason, reference, key)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING idempotency_key
""")
# Creates a missing level, locks every level row in SKU order (so two baskets never deadlock),
# moves it, and returns it as it is now.
_MOVE_LEVELS = text("""
    INSERT INTO stock_levels AS l
        (location_id, sku, on_hand, reserved, safety_stock, quarantined, in_transit)
    SELECT CAST(:location_id AS integer), d.sku, d.sellable, 0, 0, d.quarantine, d.transit
    FROM unnest(CAST(:skus AS varchar[]), CAST(:sellable AS integer[]),
                CAST(:quarantine AS integer[]), CAST(:transit AS integer[]))
         AS d(sku, sellable, quarantine, transit)
    ORDER BY d.sku
    ON CONFLICT (location_id, sku) DO UPDATE
        SET on_hand = l.on_hand + EXCLUDED.on_hand,
            quarantined = l.quarantined + EXCLUDED.quarantined,
            in_transit = l.in_transit + EXCLUDED.in_transit,
            updated_at = now()
    RETURNING l.sku, l.on_hand, l.reserved, l.safety_stock
""")


_BUCKETS = {"sellable": 0, "quarantine": 1, "in_transit": 2}  # index into a level's buckets


def apply_movements(
    session: Session,
    location_id: int,
    movements: Sequence[Movement],
    *,
    workflow_id: str | None,
    occurred_at: datetime,
) -> list[Applied]:
    """Write ledger rows and move on_hand; a movement whose key exists already is skipped.

    Ledger rows first (the keys that go in are the movements that apply), then each level moved
    by what applied, in one statement that also locks it and says what it holds now."""
    if not movements:
        return []
    conn = core(session)
    written = set(
        conn.execute(
            _WRITE_LEDGER,
            {
                "location_id": location_id,
                "workflow_id": workflow_id,
                "occurred_at": occurred_at,
                "skus": [m.sku for m in movements],
                "deltas": [m.delta for m in movements],
                "buckets": [m.bucket for m in movements],
                "reasons": [m.reason for m in movements],
                "references": [m.reference for m in movements],
                "keys": [m.idempotency_key for m in movements],
            },
        ).scalars()
    )
    applies = []
    moved: dict[str, list[int]] = {}  # sku -> [sellable, quarantine, in transit] that apply
    for m in movements:
        ok = m.idempotency_key in written
        written.discard(m.idempotency_key)  # a key twice in one batch applies once
        applies.append(ok)
        acc = moved.setdefault(m.sku, [0, 0, 0])
        if ok:
            acc[_BUCKETS[m.bucket]] += m.delta  # an unknown bucket is a bug: KeyError
    skus = sorted(moved)
    now = {
        sku: (on_hand, reserved, safety)
        for sku, on_hand, reserved, safety in conn.execute(
            _MOVE_LEVELS,
            {
                "location_id": location_id,
                "skus": skus,
                "sellable": [moved[s][0] for s in skus],
                "quarantine": [moved[s][1] for s in skus],
                "transit": [moved[s][2] for s in skus],
            },
        )
    }
    # Walk the batch in order from what each level held before it.
    on_hand = {sku: now[sku][0] - moved[sku][0] for sku in skus}
    out: list[Applied] = []
    for m, ok in zip(movements, applies, strict=True):
        _, reserved, safety = now[m.sku]
        before = on_hand[m.sku]
        if ok and m.bucket == "sellable":
            on_hand[m.sku] += m.delta
        out.append(Applied(m.sku, m.delta, ok, before, before - reserved - safety))
    events.stock_changed(session, location_id, movements, out, occurred_at)  # issue 19
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
    # Read from the table, not the session's identity map: apply_movements moves levels in SQL.
    row = session.execute(
        select(
            StockLevel.location_id,
            StockLevel.sku,
            StockLevel.on_hand,
            StockLevel.reserved,
            StockLevel.safety_stock,
        ).where(StockLevel.location_id == location_id, StockLevel.sku == sku)
    ).first()
    return None if row is None else Level(*row)


def levels_for_sku(session: Session, sku: str) -> list[Level]:
    rows = session.scalars(select(StockLevel).where(StockLevel.sku == sku))
    return [Level(r.location_id, r.sku, r.on_hand, r.reserved, r.safety_stock) for r in rows]


def ledger_mismatches(session: Session) -> list[tuple[int, str, str, int, int]]:
    """(location, sku, bucket, level, ledger sum) wherever a level is not the sum of its
    movements."""
    out: list[tuple[int, str, str, int, int]] = []
    for bucket, column in (
        ("sellable", StockLevel.on_hand),
        ("quarantine", StockLevel.quarantined),
        ("in_transit", StockLevel.in_transit),
    ):
        sums = (
            select(
                StockMovement.location_id,
                StockMovement.sku,
                func.sum(StockMovement.delta).label("total"),
            )
            .where(StockMovement.bucket == bucket)
            .group_by(StockMovement.location_id, StockMovement.sku)
            .subquery()
        )
        total = func.coalesce(sums.c.total, 0)
        rows = session.execute(
            select(StockLevel.location_id, StockLevel.sku, column, total)
            .outerjoin(
                sums,
                (sums.c.location_id == StockLevel.location_id) & (sums.c.sku == StockLevel.sku),
            )
            .where(column != total)
        )
        out += [(loc, sku, bucket, level, int(t)) for loc, sku, level, t in rows]
    return out
