"""Back-office edits of locations, their tax rates and tills (master data, not stock or money),
and the versions a till's offline snapshot is checked against."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import (
    ApiToken,
    Location,
    LocationTaxRate,
    Order,
    Price,
    Reservation,
    StockLevel,
    StockMovement,
    TaxCategory,
    Till,
    User,
    UserLocation,
)
from db.models_catalog import CatalogChange
from db.models_fulfilment import FulfilmentTask, StoreHoursRow
from db.session import core
from domain.errors import Conflict
from domain.staff import TILL_ROLES

# An order in one of these states needs nothing more from its location.
CLOSED_ORDER_STATES = ("completed", "cancelled", "canceled", "refunded", "expired", "rejected")


# ---- locations ---------------------------------------------------------------------------------


def location_by_code(session: Session, code: str) -> Location | None:
    """A location whatever its state (the back office sees closed ones too)."""
    return session.scalar(select(Location).where(Location.code == code))


def locations(
    session: Session, *, only: frozenset[int] | None = None, include_inactive: bool = True
) -> list[Location]:
    query = select(Location).order_by(Location.code)
    if only is not None:
        query = query.where(Location.id.in_(only))
    if not include_inactive:
        query = query.where(Location.active)
    return list(session.scalars(query))


def add_location(session: Session, **fields: Any) -> Location:
    """A new location; Conflict when the code is taken."""
    if location_by_code(session, fields["code"]) is not None:
        raise Conflict(f"There is already a location {fields['code']}.", code="duplicate_code")
    location = Location(**fields)
    session.add(location)
    session.flush()
    return location


@dataclass(frozen=True)
class LocationUse:
    """What keeps a location from being deleted (it is deactivated instead)."""

    stock: bool  # units on hand, reserved, quarantined or in transit
    open_orders: bool  # orders, fulfilment tasks or reservations still open
    history: bool  # any movement, order, till or price: records that must keep their location

    @property
    def deletable(self) -> bool:
        return not (self.stock or self.open_orders or self.history)


def location_use(session: Session, location_id: int) -> LocationUse:
    stock = exists().where(
        StockLevel.location_id == location_id,
        or_(
            StockLevel.on_hand != 0,
            StockLevel.reserved != 0,
            StockLevel.quarantined != 0,
            StockLevel.in_transit != 0,
        ),
    )
    open_orders = or_(
        exists().where(Order.location_id == location_id, Order.status.not_in(CLOSED_ORDER_STATES)),
        exists().where(
            FulfilmentTask.location_id == location_id,
            FulfilmentTask.status.in_(("open", "claimed")),
        ),
        exists().where(Reservation.location_id == location_id, Reservation.status == "active"),
    )
    history = or_(
        exists().where(StockMovement.location_id == location_id),
        exists().where(Order.location_id == location_id),
        exists().where(Till.location_id == location_id),
        exists().where(Price.location_id == location_id),
    )
    row = session.execute(select(stock, open_orders, history)).one()
    return LocationUse(stock=bool(row[0]), open_orders=bool(row[1]), history=bool(row[2]))


def currency_in_use(session: Session, location_id: int) -> bool:
    """Orders or a price list of the location are in its currency: it can no longer change."""
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(Order.location_id == location_id),
                    exists().where(Price.location_id == location_id),
                )
            )
        )
    )


def deactivate_location(session: Session, location: Location, now: datetime) -> list[str]:
    """Close a location: it stays with its history; its tills close too (their tokens end now).
    Returns the codes of the tills closed."""
    location.active = False
    codes = list(
        session.scalars(
            select(Till.code)
            .where(Till.location_id == location.id, Till.active)
            .order_by(Till.code)
        )
    )
    for code in codes:
        till = till_by_code(session, code)
        if till is not None:
            deactivate_till(session, till, now)
    session.flush()
    return codes


def delete_location(session: Session, location: Location) -> bool:
    """Delete a location nothing refers to (its hours, tax rates and empty stock rows with it);
    False, with nothing changed, when some record still names it."""
    try:
        with session.begin_nested():
            for table, column in (
                (StoreHoursRow, StoreHoursRow.location_id),
                (LocationTaxRate, LocationTaxRate.location_id),
                (StockLevel, StockLevel.location_id),
                (UserLocation, UserLocation.location_id),
            ):
                session.execute(delete(table).where(column == location.id))
            session.execute(delete(Location).where(Location.id == location.id))
    except IntegrityError:
        return False
    session.expunge(location)
    return True


# ---- tax rates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxRateSpan:
    tax_category: str
    rate_bp: int
    valid_from: datetime
    valid_to: datetime | None


def tax_rate_history(session: Session, location_id: int) -> list[TaxRateSpan]:
    """Every rate the location has had, has and will have, by category then start."""
    rows = session.execute(
        select(
            TaxCategory.code,
            LocationTaxRate.rate_bp,
            LocationTaxRate.valid_from,
            LocationTaxRate.valid_to,
        )
        .join(TaxCategory, TaxCategory.id == LocationTaxRate.tax_category_id)
        .where(LocationTaxRate.location_id == location_id)
        .order_by(TaxCategory.code, LocationTaxRate.valid_from)
    )
    return [TaxRateSpan(*row) for row in rows]


def tax_category_codes(session: Session) -> list[str]:
    return list(session.scalars(select(TaxCategory.code).order_by(TaxCategory.code)))


# ---- tills -------------------------------------------------------------------------------------


def till_by_code(session: Session, code: str) -> Till | None:
    """A till whatever its state."""
    return session.scalar(select(Till).where(Till.code == code))


def tills_at(session: Session, *, only: frozenset[int] | None = None) -> list[tuple[Till, str]]:
    """Tills with their location's code, by till code."""
    query = (
        select(Till, Location.code)
        .join(Location, Location.id == Till.location_id)
        .order_by(Till.code)
    )
    if only is not None:
        query = query.where(Till.location_id.in_(only))
    return [(till, code) for till, code in session.execute(query)]


def add_till(session: Session, **fields: Any) -> Till:
    if till_by_code(session, fields["code"]) is not None:
        raise Conflict(f"There is already a till {fields['code']}.", code="duplicate_code")
    till = Till(**fields)
    session.add(till)
    session.flush()
    return till


def revoke_till_tokens(session: Session, till_id: int, now: datetime) -> int:
    """End every sign-in made at the till; how many there were."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.till_id == till_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def deactivate_till(session: Session, till: Till, now: datetime) -> int:
    """Close a till (its sales keep it); its sign-ins end now. How many tokens ended."""
    till.active = False
    session.flush()
    return revoke_till_tokens(session, till.id, now)


def delete_till(session: Session, till: Till) -> bool:
    """Delete a till no sale, shift or token names; False, with nothing changed, otherwise."""
    try:
        with session.begin_nested():
            session.execute(delete(Till).where(Till.id == till.id))
    except IntegrityError:
        return False
    session.expunge(till)
    return True


@dataclass(frozen=True)
class TillDevicesRow:
    till_code: str
    active: bool
    printer_url: str
    card_reader: str
    scanner: str


def till_devices(session: Session, code: str) -> TillDevicesRow | None:
    """What the till's record says about its devices (for its device worker)."""
    row = session.execute(
        select(Till.code, Till.active, Till.printer_url, Till.card_reader, Till.scanner).where(
            Till.code == code
        )
    ).first()
    return None if row is None else TillDevicesRow(*row)


# ---- the till's offline snapshot: is it still current? -------------------------------------------

_VERSION = select(
    select(func.coalesce(func.max(CatalogChange.id), 0)).scalar_subquery(),
    select(func.count())
    .select_from(LocationTaxRate)
    .where(
        LocationTaxRate.location_id == bindparam("location_id"),
        LocationTaxRate.valid_from <= func.now(),
    )
    .scalar_subquery(),
)


def snapshot_version(session: Session, location_id: int) -> tuple[int, int]:
    """(catalogue version, tax rates in effect so far) at a location in one round trip: either
    moves when what a till's offline snapshot holds may have changed. The catalogue version is
    the newest outbox row (every catalogue change writes one); a tax rate adds a row when it is
    changed and the count moves again when a scheduled rate starts."""
    row = core(session).execute(_VERSION, {"location_id": location_id}).one()
    return int(row[0]), int(row[1])


def till_staff(session: Session, location_id: int) -> dict[str, str]:
    """{staff code: PIN fingerprint} of the active people who may sign in at this location's
    tills. The fingerprint (a hash of the stored PIN hash, nothing a PIN can be found from) moves
    when the PIN is changed: a till agent forgets an offline sign-in that no longer matches."""
    rows = session.execute(
        select(User.staff_code, User.pin_hash)
        .join(UserLocation, UserLocation.user_id == User.id)
        .where(
            UserLocation.location_id == location_id,
            User.active,
            User.staff_code.is_not(None),
            User.pin_hash.is_not(None),
            User.role.in_(sorted(TILL_ROLES)),
        )
        .order_by(User.staff_code)
    )
    return {
        code: hashlib.sha256(f"{code}:{pin_hash}".encode()).hexdigest()[:16]
        for code, pin_hash in rows
        if code is not None
    }


def next_price_change(session: Session, location_id: int, after: datetime) -> datetime | None:
    """The earliest scheduled start or end of a price the location's till sells at, after
    `after`: a till's snapshot is stale from then on."""
    applies = Price.web_store_id.is_(None) & (
        Price.location_id.is_(None) | (Price.location_id == location_id)
    )
    starts = select(func.min(Price.valid_from)).where(applies, Price.valid_from > after)
    ends = select(func.min(Price.valid_to)).where(applies, Price.valid_to > after)
    first, last = session.execute(select(starts.scalar_subquery(), ends.scalar_subquery())).one()
    found = [t for t in (first, last) if t is not None]
    return min(found) if found else None
