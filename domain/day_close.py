"""When a business day is over for every store: the moment the last store closes (plus a
grace), which business day is the last closed one at a given instant, and when the daily report
pack should run. Pure; stores' hours are domain/store_hours.py's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.store_hours import StoreHours


def store_day_end(hours: StoreHours, day: date) -> datetime:
    """When `day` ends for one store, in UTC: its closing time that day; a store closed that day,
    or always open, ends at local midnight."""
    zone = ZoneInfo(hours.timezone)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    by_day = {d.weekday: d for d in hours.days}
    d = by_day.get(day.weekday())
    if hours.days and d is not None:
        return (midnight + timedelta(minutes=d.closes)).astimezone(UTC)
    return (midnight + timedelta(days=1)).astimezone(UTC)


def day_closed_at(stores: Sequence[StoreHours], day: date, grace: timedelta) -> datetime:
    """When the last store has closed `day` and the grace has passed."""
    if not stores:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC) + grace
    return max(store_day_end(h, day) for h in stores) + grace


def last_closed_day(stores: Sequence[StoreHours], at: datetime, grace: timedelta) -> date:
    """The latest business day whose every store had closed (plus the grace) by `at`."""
    day = at.astimezone(UTC).date() + timedelta(days=1)
    for _ in range(5):
        if day_closed_at(stores, day, grace) <= at:
            return day
        day -= timedelta(days=1)
    return day


def pack_schedule(stores: Sequence[StoreHours], grace: timedelta, today: date) -> tuple[str, str]:
    """(cron, timezone) of the daily pack: the local time the latest-closing store closes (its
    latest closing of the week) plus the grace, in that store's timezone, so daylight saving
    moves it with the store."""
    if not stores:
        return "0 1 * * *", "UTC"
    latest = max(stores, key=lambda h: store_day_end(h, today))
    closes = max((d.closes for d in latest.days), default=24 * 60)
    minute = (closes + int(grace.total_seconds() // 60)) % (24 * 60)
    return f"{minute % 60} {minute // 60} * * *", latest.timezone
