"""Storefront carts; their lines are the cart's reservations (kind 'cart', reference = cart id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import Location, Reservation
from db.models_webstore import Cart
from db.repositories.reservations import ACTIVE, CART


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    location_id: int
    location_code: str


@dataclass(frozen=True)
class CartView:
    cart_id: str
    store_id: int
    status: str
    expires_at: datetime
    pickup_location_id: int | None
    lines: tuple[CartLine, ...]


def open_cart(
    session: Session,
    *,
    cart_id: str,
    store_id: int,
    pickup_location_id: int | None,
    expires_at: datetime,
    shopper: str = "",
) -> None:
    """Create the cart once (a retry finds it)."""
    session.execute(
        insert(Cart)
        .values(
            id=cart_id,
            store_id=store_id,
            status="open",
            pickup_location_id=pickup_location_id,
            expires_at=expires_at,
            shopper=shopper,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


def lock_opening(session: Session, store_id: int) -> None:
    """Open this web store's carts one at a time until the transaction ends, so a count of its
    open carts and the insert that follows it are never overtaken (a cap holds under a burst)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('carts.open'), :store)"), {"store": store_id}
    )


def open_count(session: Session, store_id: int, shopper: str | None = None) -> int:
    """Carts of this web store (of this shopper, when given) that are open and not past their
    expiry."""
    q = (
        select(func.count())
        .select_from(Cart)
        .where(Cart.store_id == store_id, Cart.status == "open", Cart.expires_at > func.now())
    )
    if shopper is not None:
        q = q.where(Cart.shopper == shopper)
    return int(session.scalar(q) or 0)


def cart(session: Session, cart_id: str, *, lock: bool = False) -> CartView | None:
    q = select(Cart).where(Cart.id == cart_id)
    row = session.scalar(q.with_for_update() if lock else q)
    if row is None:
        return None
    lines = session.execute(
        select(Reservation.sku, Reservation.quantity, Reservation.location_id, Location.code)
        .join(Location, Location.id == Reservation.location_id)
        .where(
            Reservation.kind == CART, Reservation.reference == cart_id, Reservation.status == ACTIVE
        )
        .order_by(Reservation.sku, Location.code)
    ).all()
    return CartView(
        row.id,
        row.store_id,
        row.status,
        row.expires_at,
        row.pickup_location_id,
        tuple(CartLine(s, q_, loc, code) for s, q_, loc, code in lines),
    )


def touch(session: Session, cart_id: str, expires_at: datetime) -> None:
    session.execute(
        update(Cart).where(Cart.id == cart_id, Cart.status == "open").values(expires_at=expires_at)
    )
    session.execute(
        update(Reservation)
        .where(
            Reservation.kind == CART, Reservation.reference == cart_id, Reservation.status == ACTIVE
        )
        .values(expires_at=expires_at)
    )


def set_status(
    session: Session, cart_id: str, status: str, *, only_from: tuple[str, ...] = ("open",)
) -> bool:
    return bool(
        session.execute(  # type: ignore[attr-defined]  # DML executes to a CursorResult
            update(Cart).where(Cart.id == cart_id, Cart.status.in_(only_from)).values(status=status)
        ).rowcount
    )
