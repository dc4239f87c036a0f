"""Reservations: units held for a cart, an online order or a pickup.

`stock_levels.reserved` is always the sum of a location's active reservations of a SKU.
Taking units is one conditional UPDATE (`… WHERE on_hand - reserved - safety_stock >= :q
RETURNING`), never read-then-write; a basket takes its lines in (sku, location) order so two
baskets never deadlock. Releasing and consuming are guarded by the reservation's status, so a
retried activity does each once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Reservation, StockLevel
from db.repositories import stock
from domain.errors import OutOfStock  # re-exported: callers name it here too

CART, ORDER, PICKUP = "cart", "order", "pickup"
ACTIVE, RELEASED, CONSUMED = "active", "released", "consumed"


@dataclass(frozen=True)
class Hold:
    location_id: int
    sku: str
    quantity: int


def _order(holds: Iterable[Hold]) -> list[Hold]:
    return sorted(holds, key=lambda h: (h.sku, h.location_id))


def take(session: Session, location_id: int, sku: str, quantity: int) -> bool:
    """Raise `reserved` by quantity if that many are available to promise; one statement, no
    read."""
    level = StockLevel
    row = session.execute(
        update(level)
        .where(
            level.location_id == location_id,
            level.sku == sku,
            level.on_hand - level.reserved - level.safety_stock >= quantity,
        )
        .values(reserved=level.reserved + quantity, updated_at=func.now())
        .returning(level.reserved)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def give_back(session: Session, location_id: int, sku: str, quantity: int) -> None:
    level = StockLevel
    session.execute(
        update(level)
        .where(level.location_id == location_id, level.sku == sku)
        .values(reserved=level.reserved - quantity, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


def reserve(
    session: Session,
    *,
    kind: str,
    reference: str,
    holds: Sequence[Hold],
    expires_at: datetime | None = None,
    workflow_id: str | None = None,
) -> list[Hold]:
    """Hold every line or none (OutOfStock); lines this reference holds already are not taken twice.

    Returns what was newly held. A line released earlier by the same reference is held again.
    """
    taken: list[Hold] = []
    for h in _order(holds):
        if h.quantity <= 0:
            continue
        fresh = session.execute(
            insert(Reservation)
            .values(
                location_id=h.location_id,
                sku=h.sku,
                quantity=h.quantity,
                kind=kind,
                reference=reference,
                status=ACTIVE,
                expires_at=expires_at,
                workflow_id=workflow_id,
            )
            .on_conflict_do_update(
                index_elements=["kind", "reference", "location_id", "sku"],
                set_={"status": ACTIVE, "quantity": h.quantity, "expires_at": expires_at},
                where=Reservation.status != ACTIVE,
            )
            .returning(Reservation.id)
        ).scalar_one_or_none()
        if fresh is None:
            continue  # active already: a retry
        if not take(session, h.location_id, h.sku, h.quantity):
            raise OutOfStock(
                h.location_id, h.sku, h.quantity
            )  # the unit of work rolls back the lot
        taken.append(h)
    return taken


def set_quantity(
    session: Session,
    *,
    kind: str,
    reference: str,
    location_id: int,
    sku: str,
    quantity: int,
    expires_at: datetime | None,
    workflow_id: str | None = None,
) -> int:
    """Make this reference hold exactly `quantity` of a SKU at a location (0 releases); returns the
    change.

    Setting a target (not adding) makes a retried activity harmless.
    """
    session.execute(
        insert(Reservation)
        .values(
            location_id=location_id,
            sku=sku,
            quantity=max(quantity, 1),
            kind=kind,
            reference=reference,
            status=RELEASED,
            expires_at=expires_at,
            workflow_id=workflow_id,
        )
        .on_conflict_do_nothing(index_elements=["kind", "reference", "location_id", "sku"])
    )
    row = session.scalars(
        select(Reservation)
        .where(
            Reservation.kind == kind,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.sku == sku,
        )
        .with_for_update()
    ).one()
    current = row.quantity if row.status == ACTIVE else 0
    delta = quantity - current
    if delta > 0 and not take(session, location_id, sku, delta):
        raise OutOfStock(location_id, sku, delta)
    if delta < 0:
        give_back(session, location_id, sku, -delta)
    if quantity > 0:
        row.quantity, row.status = quantity, ACTIVE
    else:
        row.status = RELEASED
    row.expires_at = expires_at
    session.flush()
    return delta


def release(
    session: Session,
    *,
    kind: str,
    reference: str,
    location_id: int | None = None,
    sku: str | None = None,
) -> list[Hold]:
    """Give back every active hold of the reference (optionally one location / SKU); once."""
    q = update(Reservation).where(
        Reservation.kind == kind, Reservation.reference == reference, Reservation.status == ACTIVE
    )
    if location_id is not None:
        q = q.where(Reservation.location_id == location_id)
    if sku is not None:
        q = q.where(Reservation.sku == sku)
    rows = session.execute(
        q.values(status=RELEASED)
        .returning(Reservation.location_id, Reservation.sku, Reservation.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    released = _order(Hold(loc, s, qty) for loc, s, qty in rows)
    for h in released:
        give_back(session, h.location_id, h.sku, h.quantity)
    return released


def release_part(
    session: Session, *, kind: str, reference: str, location_id: int, sku: str, quantity: int
) -> int:
    """Give back up to `quantity` of one hold (the rest stays held); returns how many were given
    back."""
    row = session.scalars(
        select(Reservation)
        .where(
            Reservation.kind == kind,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.sku == sku,
            Reservation.status == ACTIVE,
        )
        .with_for_update()
    ).first()
    if row is None:
        return 0
    n = min(quantity, row.quantity)
    if n == row.quantity:
        row.status = RELEASED
    else:
        row.quantity -= n
    give_back(session, location_id, sku, n)
    session.flush()
    return n


def consume(
    session: Session,
    *,
    kind: str,
    reference: str,
    location_id: int,
    occurred_at: datetime,
    workflow_id: str | None,
    reason: str = "online_order",
) -> list[Hold]:
    """The held goods leave: each hold becomes a ledger movement (on_hand down) and stops being
    held; once."""
    rows = session.execute(
        update(Reservation)
        .where(
            Reservation.kind == kind,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.status == ACTIVE,
        )
        .values(status=CONSUMED)
        .returning(Reservation.sku, Reservation.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    holds = _order(Hold(location_id, s, qty) for s, qty in rows)
    if not holds:
        return []
    stock.apply_movements(
        session,
        location_id,
        [
            stock.Movement(
                h.sku, -h.quantity, reason, reference, f"{reference}:consume:{location_id}:{h.sku}"
            )
            for h in holds
        ],
        workflow_id=workflow_id,
        occurred_at=occurred_at,
    )
    for h in holds:
        give_back(session, h.location_id, h.sku, h.quantity)
    return holds


def adopt(
    session: Session,
    *,
    from_kind: str,
    from_reference: str,
    to_kind: str,
    to_reference: str,
    workflow_id: str | None,
) -> list[Hold]:
    """Hand a cart's active holds to an order as they are: nothing is given back or taken again."""
    rows = session.execute(
        update(Reservation)
        .where(
            Reservation.kind == from_kind,
            Reservation.reference == from_reference,
            Reservation.status == ACTIVE,
        )
        .values(kind=to_kind, reference=to_reference, expires_at=None, workflow_id=workflow_id)
        .returning(Reservation.location_id, Reservation.sku, Reservation.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    return _order(Hold(loc, s, qty) for loc, s, qty in rows)


def holds(session: Session, *, kind: str, reference: str) -> list[Hold]:
    """The active holds of a reference."""
    rows = session.execute(
        select(Reservation.location_id, Reservation.sku, Reservation.quantity).where(
            Reservation.kind == kind,
            Reservation.reference == reference,
            Reservation.status == ACTIVE,
        )
    ).all()
    return _order(Hold(loc, s, qty) for loc, s, qty in rows)


def orders_to_resource(session: Session, location_id: int, sku: str) -> list[tuple[str, int]]:
    """(order workflow, units) that lost their goods to a till sale: newest holds first, as many as
    it takes to cover what is now over-committed at the location."""
    level = session.scalars(
        select(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.sku == sku)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if level is None:
        return []
    short = level.reserved - max(0, level.on_hand - level.safety_stock)
    out: list[tuple[str, int]] = []
    if short <= 0:
        return out
    rows = session.execute(
        select(Reservation.workflow_id, Reservation.reference, Reservation.quantity)
        .where(
            Reservation.location_id == location_id,
            Reservation.sku == sku,
            Reservation.kind == ORDER,
            Reservation.status == ACTIVE,
        )
        .order_by(Reservation.created_at.desc(), Reservation.id.desc())
    ).all()
    for wf, ref, qty in rows:
        if short <= 0:
            break
        n = min(qty, short)
        out.append((wf or ref, n))
        short -= n
    return out


def reserved_mismatches(session: Session) -> list[tuple[int, str, int, int]]:
    """(location, sku, reserved, sum of active holds) wherever they differ."""
    sums = (
        select(
            Reservation.location_id, Reservation.sku, func.sum(Reservation.quantity).label("total")
        )
        .where(Reservation.status == ACTIVE)
        .group_by(Reservation.location_id, Reservation.sku)
        .subquery()
    )
    total = func.coalesce(sums.c.total, 0)
    rows = session.execute(
        select(StockLevel.location_id, StockLevel.sku, StockLevel.reserved, total)
        .outerjoin(
            sums, (sums.c.location_id == StockLevel.location_id) & (sums.c.sku == StockLevel.sku)
        )
        .where(StockLevel.reserved != total)
    )
    return [(loc, s, r, int(t)) for loc, s, r, t in rows]
