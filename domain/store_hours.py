"""Store opening hours and time that counts only while a store is open (pickup deadlines).

What "N days" of a pickup hold means: N times the store's *opening day*, the mean opening hours of
the days it opens. Berlin (Mon–Sat 09:00–20:00) has an 11-hour opening day, so 3 days = 33 opening
hours: ready Thursday 15:00 → Thu 5 h + Fri 11 h + Sat 11 h → Sunday is closed → Monday 09:00 + the
remaining 6 h = Monday 15:00. With the same hours every open day this is "the same time of day,
N opening days later". A store without configured hours counts as always open (N × 24 h).

Hours are wall-clock times in the store's timezone, so across a DST change a store still opens at
09:00 local time and the deadline keeps its local time of day; all arithmetic is done in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SEARCH_DAYS = 3700  # a store that never opens again is an error, not an endless loop


class StoreNeverOpens(ValueError):
    """The hours leave no opening time to count in."""


@dataclass(frozen=True)
class DayHours:
    """One weekday's opening: minutes after local midnight, 0 <= opens < closes <= 1440."""

    weekday: int  # 0 = Monday … 6 = Sunday
    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if not 0 <= self.opens < self.closes <= DAY_MINUTES:
            raise ValueError(
                f"{WEEKDAYS[self.weekday]}: opening {self.opens} "
                f"must be before closing {self.closes} within the day (minutes 0–1440)"
            )

    @property
    def minutes(self) -> int:
        return self.closes - self.opens

    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {_hhmm(self.opens)}–{_hhmm(self.closes)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hhmm(text: str) -> int:
    """'09:30' → 570; '24:00' is the end of the day."""
    hh, sep, mm = text.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError(f"{text!r} is not a time like 09:30")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minutes > DAY_MINUTES:
        raise ValueError(f"{text!r} is not a time of day")
    return minutes


@dataclass(frozen=True)
class StoreHours:
    """A store's weekly opening hours in its timezone; no days at all = always open."""

    timezone: str
    days: tuple[DayHours, ...] = ()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first deadline
        except (KeyError, ValueError):
            raise ValueError(f"{self.timezone!r} is not a known timezone") from None
        if len({d.weekday for d in self.days}) != len(self.days):
            raise ValueError("one opening interval per weekday")

    @property
    def always_open(self) -> bool:
        return not self.days

    @property
    def opening_day(self) -> timedelta:
        """The mean opening hours of the days the store opens: what one "day" of a hold is worth."""
        if self.always_open:
            return timedelta(days=1)
        return timedelta(minutes=sum(d.minutes for d in self.days) / len(self.days))

    def _intervals(self, start: datetime) -> list[tuple[datetime, datetime]]:
        """Opening intervals (UTC) from the local day of `start` on, for a bounded number of
        days."""
        zone = ZoneInfo(self.timezone)
        by_day = {d.weekday: d for d in self.days}
        first = start.astimezone(zone).date() - timedelta(days=1)
        out: list[tuple[datetime, datetime]] = []
        for n in range(_SEARCH_DAYS):
            day = first + timedelta(days=n)
            hours = by_day.get(day.weekday())
            if hours is not None:
                out.append((_at(day, hours.opens, zone), _at(day, hours.closes, zone)))
            if len(out) >= 64 and out[-1][1] > start:
                break
        return out

    def add_open_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of opening time has passed after `start` (closed time is
        skipped)."""
        start = _utc(start)
        if duration <= timedelta(0):
            return start
        if self.always_open:
            return start + duration
        remaining = duration
        cursor = start
        while True:
            intervals = self._intervals(cursor)
            for opens, closes in intervals:
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                if closes - begin >= remaining:
                    return begin + remaining
                remaining -= closes - begin
                cursor = closes
            if not intervals:
                raise StoreNeverOpens("the store has no opening hours to count")

    def hold_deadline(self, ready_at: datetime, days: float) -> datetime:
        """When a pickup held for `days` opening days from `ready_at` expires."""
        return self.add_open_time(ready_at, self.opening_day * days)

    def is_open(self, instant: datetime) -> bool:
        if self.always_open:
            return True
        instant = _utc(instant)
        return any(opens <= instant < closes for opens, closes in self._intervals(instant)[:3])

    def local(self, instant: datetime) -> datetime:
        return _utc(instant).astimezone(ZoneInfo(self.timezone))

    def describe(self) -> str:
        if self.always_open:
            return "always open"
        return ", ".join(d.label() for d in sorted(self.days, key=lambda d: d.weekday))


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local wall-clock `minutes` after midnight of `day`, as UTC (24:00 is the next midnight)."""
    if minutes >= DAY_MINUTES:
        return _at(day + timedelta(days=1), minutes - DAY_MINUTES, zone)
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    # A time inside the spring-forward gap does not exist; fold=0 maps it past the gap, which is
    # what a shop's clock on the wall does too.
    return local.astimezone(UTC)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)
