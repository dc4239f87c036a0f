"""Stock effects of picking: an order's hold becomes a held-for-pickup allocation, goods leave at
hand-over, and a shortage found on the shelf corrects on_hand.

The order hold (kind 'order') and the pickup hold (kind 'pickup') share the order's reference;
moving units between them never touches `stock_levels.reserved`, which stays the sum of active
holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Reservation, StockLevel
from db.repositories import stock
from db.repositories.reservations import ACTIVE, CONSUMED, ORDER, PICKUP, Hold, give_back

MOVED = "moved"  # an order hold whose units all moved to the pickup hold of the same reference


def _row(
    session: Session, kind: str, reference: str, location_id: int, sku: str
) -> Reservation | None:
    return session.scalars(
        select(Reservation)
        .where(
            Reservation.kind == kind,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.sku == sku,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def hold_for_pickup(
    session: Session,
    *,
    reference: str,
    location_id: int,
    targets: Mapping[str, int],
    expires_at: datetime | None,
    workflow_id: str | None,
) -> list[Hold]:
    """Make the pickup hold of each SKU `targets[sku]` units, taken from the order hold; returns
    what moved.

    Targets (not increments) make a retried activity harmless. The whole order hold changes kind in
    place when it moves at once, so the reservation row itself shows the change.
    """
    moved: list[Hold] = []
    for sku in sorted(targets):
        pickup = _row(session, PICKUP, reference, location_id, sku)
        have = pickup.quantity if pickup is not None and pickup.status == ACTIVE else 0
        need = targets[sku] - have
        if need <= 0:
            continue
        order = _row(session, ORDER, reference, location_id, sku)
        n = min(need, order.quantity) if order is not None and order.status == ACTIVE else 0
        if n <= 0 or order is None:
            continue
        if pickup is None and n == order.quantity:
            order.kind, order.expires_at, order.workflow_id = PICKUP, expires_at, workflow_id
        else:
            if pickup is None:
                pickup = Reservation(
                    location_id=location_id,
                    sku=sku,
                    quantity=n,
                    kind=PICKUP,
                    reference=reference,
                    status=ACTIVE,
                    expires_at=expires_at,
                    workflow_id=workflow_id,
                )
                session.add(pickup)
            else:
                pickup.quantity, pickup.status, pickup.expires_at = have + n, ACTIVE, expires_at
            if n == order.quantity:
                order.status = MOVED
            else:
                order.quantity -= n
        moved.append(Hold(location_id, sku, n))
    session.flush()
    return moved


def set_expiry(session: Session, *, reference: str, location_id: int, expires_at: datetime) -> None:
    """The pickup deadline moved (a manager extended it)."""
    session.execute(
        update(Reservation)
        .where(
            Reservation.kind == PICKUP,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.status == ACTIVE,
        )
        .values(expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )


def consume_pickup(
    session: Session,
    *,
    reference: str,
    location_id: int,
    occurred_at: datetime,
    workflow_id: str | None,
) -> list[Hold]:
    """Handed over: the pickup hold leaves on_hand through the ledger and stops being held; once."""
    rows = session.execute(
        update(Reservation)
        .where(
            Reservation.kind == PICKUP,
            Reservation.reference == reference,
            Reservation.location_id == location_id,
            Reservation.status == ACTIVE,
        )
        .values(status=CONSUMED)
        .returning(Reservation.sku, Reservation.quantity)
        .execution_options(synchronize_session=False)
    ).all()
    holds = sorted((Hold(location_id, sku, qty) for sku, qty in rows), key=lambda h: h.sku)
    if not holds:
        return []
    # Our own key: the order's consume step uses `{reference}:consume:…` for order holds.
    stock.apply_movements(
        session,
        location_id,
        [
            stock.Movement(
                h.sku, -h.quantity, "pickup", reference, f"{reference}:pickup:{location_id}:{h.sku}"
            )
            for h in holds
        ],
        workflow_id=workflow_id,
        occurred_at=occurred_at,
    )
    for h in holds:
        give_back(session, location_id, h.sku, h.quantity)
    return holds


def record_shortage(
    session: Session,
    *,
    location_id: int,
    missing: Mapping[str, int],
    reference: str,
    key: str,
    workflow_id: str | None,
    occurred_at: datetime,
) -> dict[str, int]:
    """The shelf had fewer than the books: take the missing units off on_hand (never below 0); once
    per key."""
    levels = {
        r.sku: r.on_hand
        for r in session.scalars(
            select(StockLevel).where(
                StockLevel.location_id == location_id, StockLevel.sku.in_(list(missing))
            )
        )
    }
    movements = [
        stock.Movement(
            sku, -min(qty, max(levels.get(sku, 0), 0)), "pick_shortage", reference, f"{key}:{sku}"
        )
        for sku, qty in sorted(missing.items())
        if qty > 0
    ]
    applied = stock.apply_movements(
        session,
        location_id,
        [m for m in movements if m.delta < 0],
        workflow_id=workflow_id,
        occurred_at=occurred_at,
    )
    return {a.sku: -a.delta for a in applied}
