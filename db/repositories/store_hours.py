"""Store opening hours (per weekday, local time) as the domain's StoreHours."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.models import Location
from db.models_fulfilment import StoreHoursRow
from domain.errors import NotFound
from domain.store_hours import DayHours, StoreHours


def hours(session: Session, location_id: int) -> StoreHours:
    """The location's hours in its timezone; none configured = always open."""
    zone = session.scalar(select(Location.timezone).where(Location.id == location_id))
    if zone is None:
        raise NotFound(f"There is no location {location_id}.")
    rows = session.scalars(
        select(StoreHoursRow)
        .where(StoreHoursRow.location_id == location_id)
        .order_by(StoreHoursRow.weekday)
    )
    return StoreHours(
        zone, tuple(DayHours(r.weekday, r.opens_minute, r.closes_minute) for r in rows)
    )


def set_hours(session: Session, location_id: int, days: Sequence[DayHours]) -> None:
    """Replace the location's weekly hours (a weekday left out is closed)."""
    session.execute(delete(StoreHoursRow).where(StoreHoursRow.location_id == location_id))
    session.add_all(
        StoreHoursRow(
            location_id=location_id, weekday=d.weekday, opens_minute=d.opens, closes_minute=d.closes
        )
        for d in days
    )
    session.flush()
