"""Stock closings' Temporal boundary (issue 16): the activity that stores every location's
sellable on hand per SKU at the end of a business day, run by the daily report pack
(workflows/daily_reports.py) once the last store has closed, and its payloads."""

from __future__ import annotations

from dataclasses import dataclass

CLOSE_STOCK_DAY = "stock_closings.close_day"


@dataclass(frozen=True, kw_only=True)
class StockCloseCmd:
    """Close `business_date` (ISO date) at every location whose day is over; with `back_to` (an
    earlier ISO date) also every day before it down to that one (a backfill, newest first)."""

    business_date: str
    back_to: str | None = None


@dataclass(frozen=True, kw_only=True)
class StockCloseResult:
    days: int  # business days looked at
    locations: int  # location-days closed now (0: all were closed already)
    skus: int  # closing rows written
