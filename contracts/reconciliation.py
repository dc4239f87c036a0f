"""The tender reconciliation's Temporal boundary: the activity that copies Stripe's balance
transactions (and the payouts they were paid out in) into tillflow before the day-close reports
run, its payloads, and the window of business days it covers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SYNC_STRIPE = "reconciliation.sync_stripe"


@dataclass(frozen=True, kw_only=True)
class StripeSyncCmd:
    """Copy the balance transactions and payouts Stripe created in [created_from, created_to)."""

    created_from: datetime
    created_to: datetime


@dataclass(frozen=True, kw_only=True)
class StripeSyncResult:
    transactions: int  # balance transactions seen (created in the window or paid out in it)
    added: int  # of those, new to tillflow
    payouts: int  # payouts created in the window


def sync_window(
    day_from: date, day_to: date, timezones: Iterable[str] = ("UTC",), *, margin_hours: int = 1
) -> StripeSyncCmd:
    """The UTC window covering business days [day_from, day_to] in every store's timezone, widened
    by `margin_hours` either side (a charge captured a little before midnight reaches Stripe's
    balance a little after)."""
    zones = list(timezones) or ["UTC"]
    starts = [datetime.combine(day_from, time(0), tzinfo=ZoneInfo(z)) for z in zones]
    ends = [
        datetime.combine(day_to + timedelta(days=1), time(0), tzinfo=ZoneInfo(z)) for z in zones
    ]
    margin = timedelta(hours=margin_hours)
    return StripeSyncCmd(
        created_from=min(starts).astimezone(UTC) - margin,
        created_to=max(ends).astimezone(UTC) + margin,
    )


# The earliest and the latest timezones on earth: a window in both covers the day everywhere.
EARLIEST_ZONE, LATEST_ZONE = "Pacific/Kiritimati", "Etc/GMT+12"


def day_close_sync(business_date: str, margin_hours: int = 1) -> StripeSyncCmd:
    """The sync of one business day (ISO date) for the daily pack, whatever the stores'
    timezones, without a database look-up (safe in a workflow: pure and deterministic)."""
    day = date.fromisoformat(business_date)
    return sync_window(day, day, (EARLIEST_ZONE, LATEST_ZONE), margin_hours=margin_hours)
