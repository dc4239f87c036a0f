"""Endless aisle (issue 19): a till's ship-to-home order routed like a web order, and the cash the
till took for it recorded as the order's payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from db.models import Location, Payment
from db.promotion_pricing import PromotionScope
from db.repositories import catalog, orders, promotions
from db.repositories.webstores import StoreConfig, StoreLocation
from domain.errors import InvalidRequest, NotFound
from domain.tenders import CASH, settle_exactly


def till_store(session: Session, till_code: str) -> StoreConfig:
    """The routing and pricing a till's ship order gets: priced at the till's store, shipped from
    every location that ships (warehouses and ship-from-store stores), as a web order is."""
    till = catalog.till_view(session, till_code)
    if till is None:
        raise NotFound(f"There is no till {till_code}.", code="till_not_found")
    rows = session.scalars(
        select(Location)
        .where(or_(Location.kind == "warehouse", Location.ship_from_store.is_(True)))
        .order_by(Location.id)
    ).all()
    return StoreConfig(
        id=0,
        code=till.location_code,
        platform="store",
        name=till.location_name,
        shop_domain="",
        api_base_url="",
        webhook_secret="",
        access_token="",
        consumer_key="",
        consumer_secret="",
        currency=till.currency,
        pricing_location_id=till.location_id,
        active=True,
        locations=tuple(StoreLocation(location_id=r.id, code=r.code, external_id="") for r in rows),
    )


def record_till_cash(
    session: Session,
    workflow_id: str,
    till_code: str,
    total: int,
    currency: str,
    cash: tuple[int, ...],
) -> int:
    """The cash handed over at the till as the order's payments (once per tender key); returns
    the change due. Cash that does not settle the total is refused before anything is kept."""
    till = catalog.till_view(session, till_code)
    if till is None:
        raise NotFound(f"There is no till {till_code}.", code="till_not_found")
    book = settle_exactly(total, currency, ((CASH, amount) for amount in cash))
    if book is None:
        raise InvalidRequest(
            f"The cash given does not settle the order's total of {total} {currency}.",
            code="tender_short",
        )
    for n, p in enumerate(book.taken, start=1):
        orders.insert_payment(
            session,
            orders.NewPayment(
                workflow_id=workflow_id,
                tender=CASH,
                amount=p.applied,
                tendered=p.tendered,
                currency=currency,
                status="completed",
                idempotency_key=f"{workflow_id}:tender:{n}",
                location_id=till.location_id,
                till_id=till.till_id,
            ),
        )
    return book.change


def store_scope(session: Session, till_code: str, at: datetime) -> PromotionScope | None:
    """The in-store promotions at the till's store now, as a till sale is priced with."""
    till = catalog.till_view(session, till_code)
    if till is None:
        raise NotFound(f"There is no till {till_code}.", code="till_not_found")
    pinned = promotions.pin(session, till.location_code, "store")
    if not pinned.promotions:
        return None
    return PromotionScope(
        pin=pinned, channel="store", currency=till.currency, timezone=till.timezone, at=at
    )


def void_till_cash(session: Session, workflow_id: str) -> int:
    """Compensation: the order failed or was cancelled, the cashier hands the cash back; its
    payments are marked voided (only till cash: a web order has none). Returns how many."""
    result = session.execute(
        update(Payment)
        .where(
            Payment.workflow_id == workflow_id,
            Payment.tender == CASH,
            Payment.status == "completed",
        )
        .values(status="voided")
    )
    return result.rowcount or 0  # type: ignore[attr-defined]  # DML executes to a CursorResult


def till_shift(session: Session, till_code: str) -> int | None:
    """The till's open shift (a ship order paid in its drawer belongs to it: the X and Z count
    its cash)."""
    till = catalog.till_view(session, till_code)
    return till.open_shift_id if till is not None else None
