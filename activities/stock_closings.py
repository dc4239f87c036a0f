"""Stock closings' activity: store each location's sellable on hand per SKU at the end of a
business day (db/repositories/stock_closings.py), once; the KPI report then reads a closed
day's opening and closing stock from it. Idempotent: a closed location-day is never rewritten,
and a day not over yet at a location is left for a later run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from temporalio import activity

from contracts.errors import encode_errors
from contracts.stock_closings import CLOSE_STOCK_DAY, StockCloseCmd, StockCloseResult
from db.repositories import stock_closings
from db.session import Database
from domain.errors import InvalidRequest


@encode_errors
class StockClosingActivities:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))

    @activity.defn(name=CLOSE_STOCK_DAY)
    def close_day(self, cmd: StockCloseCmd) -> StockCloseResult:
        """Close the day (and, with `back_to`, the days before it, newest first, one
        transaction each) at every location whose day is over."""
        try:
            day = date.fromisoformat(cmd.business_date)
            last = date.fromisoformat(cmd.back_to) if cmd.back_to else day
        except ValueError as err:
            raise InvalidRequest(f"Not a date: {err}.", code="bad_date") from err
        if last > day:
            raise InvalidRequest("back_to is after the business date.", code="bad_range")
        days = locations = skus = 0
        while day >= last:
            with self.db.unit_of_work() as s:
                closed, rows = stock_closings.close_day(s, day, self.clock())
            if activity.in_activity():
                activity.heartbeat(day.isoformat())
            days, locations, skus = days + 1, locations + closed, skus + rows
            day -= timedelta(days=1)
        return StockCloseResult(days=days, locations=locations, skus=skus)


def stock_closing_activities(
    db: Database, clock: Callable[[], datetime] | None = None
) -> list[Callable[..., object]]:
    acts = StockClosingActivities(db, clock)
    return [acts.close_day]
