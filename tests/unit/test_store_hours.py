"""Pickup deadlines count only opening hours in the store's timezone: closed days, DST,
extensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.store_hours import DayHours, StoreHours, parse_hhmm

BERLIN = ZoneInfo("Europe/Berlin")
# Mon–Sat 09:00–20:00, closed on Sunday: an opening day of 11 hours.
SHOP = StoreHours("Europe/Berlin", tuple(DayHours(d, 9 * 60, 20 * 60) for d in range(6)))


def berlin(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN)


def test_three_days_are_three_opening_days() -> None:
    assert SHOP.opening_day == timedelta(hours=11)
    # Tuesday 15:00 → Friday 15:00: the same time of day, three opening days later.
    assert SHOP.hold_deadline(berlin(2026, 11, 17, 15), 3) == berlin(2026, 11, 20, 15)


def test_a_deadline_on_a_closed_sunday_moves_to_monday_opening_plus_what_is_left() -> None:
    ready = berlin(2026, 11, 19, 15)  # Thursday; 3 × 24 h later would be Sunday 15:00
    assert (ready + timedelta(days=3)).weekday() == 6
    deadline = SHOP.hold_deadline(ready, 3)
    # Thu 5 h + Fri 11 h + Sat 11 h = 27 h; Sunday closed; Monday 09:00 + the remaining 6 h.
    assert deadline == berlin(2026, 11, 23, 15)
    assert deadline.astimezone(BERLIN).weekday() == 0


def test_ready_after_closing_starts_counting_at_the_next_opening() -> None:
    assert SHOP.hold_deadline(berlin(2026, 11, 21, 21), 1) == berlin(
        2026, 11, 23, 20
    )  # Sat night → Mon close
    assert SHOP.add_open_time(berlin(2026, 11, 22, 12), timedelta(hours=1)) == berlin(
        2026, 11, 23, 10
    )


def test_hours_keep_their_local_time_across_daylight_saving_changes() -> None:
    # Spring forward in the night to Sunday 29 March 2026 (closed anyway): Friday 15:00 CET →
    # Tuesday 15:00 CEST.
    spring = SHOP.hold_deadline(berlin(2026, 3, 27, 15), 3)
    assert spring == berlin(2026, 3, 31, 15)
    assert spring.astimezone(UTC).hour == 13  # CEST is UTC+2
    # Fall back in the night to Sunday 25 October 2026: Friday 15:00 CEST → Tuesday 15:00 CET.
    autumn = SHOP.hold_deadline(berlin(2026, 10, 23, 15), 3)
    assert autumn == berlin(2026, 10, 27, 15) and autumn.astimezone(UTC).hour == 14


def test_a_round_the_clock_store_counts_real_hours_on_the_short_dst_day() -> None:
    always = StoreHours("Europe/Berlin", tuple(DayHours(d, 0, 1440) for d in range(7)))
    # Saturday 12:00 CET + 24 opening hours = Sunday 13:00 CEST: the night lost an hour.
    assert always.add_open_time(berlin(2026, 3, 28, 12), timedelta(hours=24)) == berlin(
        2026, 3, 29, 13
    )


def test_extension_continues_from_the_old_deadline() -> None:
    deadline = SHOP.hold_deadline(berlin(2026, 11, 19, 15), 3)  # Monday 15:00
    assert SHOP.hold_deadline(deadline, 1) == berlin(2026, 11, 24, 15)
    assert SHOP.hold_deadline(deadline, 0.5) == berlin(
        2026, 11, 24, 9, 30
    )  # 5 h on Monday, 30 min on Tuesday


def test_no_hours_means_always_open_and_a_lisbon_store_counts_lisbon_time() -> None:
    assert StoreHours("UTC").hold_deadline(datetime(2026, 11, 22, 10, tzinfo=UTC), 3) == datetime(
        2026, 11, 25, 10, tzinfo=UTC
    )
    lisbon = StoreHours("Europe/Lisbon", (DayHours(0, 10 * 60, 19 * 60),))  # Mondays only
    ready = datetime(
        2026, 11, 23, 18, tzinfo=ZoneInfo("Europe/Lisbon")
    )  # Monday, one hour before closing
    assert lisbon.hold_deadline(ready, 1) == datetime(
        2026, 11, 30, 18, tzinfo=ZoneInfo("Europe/Lisbon")
    )
    assert lisbon.is_open(ready) and not lisbon.is_open(ready + timedelta(hours=2))


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError):
        DayHours(7, 0, 60)
    with pytest.raises(ValueError):
        DayHours(0, 20 * 60, 9 * 60)
    with pytest.raises(ValueError):
        StoreHours("Mars/Olympus")
    with pytest.raises(ValueError):
        parse_hhmm("25:00")
    assert parse_hhmm("24:00") == 1440 and parse_hhmm("09:30") == 570
    with pytest.raises(ValueError):
        SHOP.add_open_time(datetime(2026, 11, 22, 10), timedelta(hours=1))  # naive
