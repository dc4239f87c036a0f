"""Stock closings (db/models_stock_closings.py): each location's sellable on hand per SKU at the
end of a business day, written once the day is over (activities/stock_closings.py) and read by
the KPI report (db/report_loaders/kpis.py) instead of every stock movement since the day.

A closing is the ledger's own arithmetic: on hand now less the sellable movements after the
day's end (a day just closed has few of those). When the next day of the location is closed
already (a backfill walks from the newest day back), it is that day's closing less that day's
own sellable movements instead: the same figure, reading one day of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import Location
from db.models_stock_closings import StockClosingDay
from db.report_loaders.scope import local_day_bounds

# b: (location_id, utc_from, utc_to) of the day (or, chained, of the next day) per location

# on hand now less the sellable movements after the day's end (SKUs with a stock level)
_LIVE = """
WITH b(location_id, utc_from, utc_to) AS ({bounds})
INSERT INTO stock_closings (business_day, location_id, sku, on_hand)
SELECT CAST(:day AS date), sl.location_id, sl.sku, sl.on_hand - coalesce(m.after, 0)
FROM stock_levels sl
JOIN b ON b.location_id = sl.location_id
LEFT JOIN (
    SELECT m.location_id, m.sku, sum(m.delta) AS after
    FROM stock_movements m JOIN b ON b.location_id = m.location_id AND m.occurred_at >= b.utc_to
    WHERE m.occurred_at >= :env_from AND m.bucket = 'sellable'
    GROUP BY 1, 2) m ON m.location_id = sl.location_id AND m.sku = sl.sku
WHERE sl.on_hand - coalesce(m.after, 0) <> 0
"""

# the next day's closing less the next day's own sellable movements
_CHAINED = """
WITH b(location_id, utc_from, utc_to) AS ({bounds})
INSERT INTO stock_closings (business_day, location_id, sku, on_hand)
SELECT CAST(:day AS date), k.location_id, k.sku, k.on_hand FROM (
    SELECT coalesce(c.location_id, m.location_id) AS location_id,
           coalesce(c.sku, m.sku) AS sku, coalesce(c.on_hand, 0) - coalesce(m.moved, 0) AS on_hand
    FROM (SELECT c.location_id, c.sku, c.on_hand FROM stock_closings c
          WHERE c.business_day = CAST(:next AS date)
            AND c.location_id IN (SELECT location_id FROM b)) c
    FULL JOIN (
        SELECT m.location_id, m.sku, sum(m.delta) AS moved
        FROM stock_movements m
        JOIN b ON b.location_id = m.location_id
              AND m.occurred_at >= b.utc_from AND m.occurred_at < b.utc_to
        WHERE m.occurred_at >= :env_from AND m.occurred_at < :env_to AND m.bucket = 'sellable'
        GROUP BY 1, 2) m ON m.location_id = c.location_id AND m.sku = c.sku) k
WHERE k.on_hand <> 0
"""

_MARK = """
INSERT INTO stock_closing_days (location_id, business_day, skus)
SELECT l.id, CAST(:day AS date), coalesce(n.rows, 0)
FROM unnest(CAST(:locs AS integer[])) AS l(id)
LEFT JOIN (SELECT location_id, count(*) AS rows FROM stock_closings
           WHERE business_day = CAST(:day AS date)
             AND location_id = ANY(CAST(:locs AS integer[]))
           GROUP BY location_id) n ON n.location_id = l.id
ON CONFLICT DO NOTHING
"""


def _bounds(rows: list[tuple[int, datetime, datetime]]) -> tuple[str, dict[str, Any]]:
    values: list[str] = []
    params: dict[str, Any] = {}
    for i, (loc, start, end) in enumerate(rows):
        values.append(f"(CAST(:l{i} AS integer), CAST(:f{i} AS timestamptz), "
                      f"CAST(:t{i} AS timestamptz))")  # fmt: skip
        params |= {f"l{i}": loc, f"f{i}": start, f"t{i}": end}
    params |= {"env_from": min(r[1] for r in rows), "env_to": max(r[2] for r in rows)}
    return "VALUES " + ", ".join(values), params


def closed_days(
    session: Session, location_ids: Sequence[int], day_from: date, day_to: date
) -> set[tuple[int, date]]:
    """(location, day) pairs of [day_from, day_to] whose closing is stored."""
    if not location_ids:
        return set()
    rows = session.execute(
        select(StockClosingDay.location_id, StockClosingDay.business_day).where(
            StockClosingDay.location_id.in_(list(location_ids)),
            StockClosingDay.business_day >= day_from,
            StockClosingDay.business_day <= day_to,
        )
    )
    return {(int(loc), d) for loc, d in rows}


def all_closed(session: Session, location_ids: Sequence[int], day_from: date, day_to: date) -> bool:
    """Whether every day of [day_from, day_to] is closed at every one of the locations."""
    days = (day_to - day_from).days + 1
    return len(closed_days(session, location_ids, day_from, day_to)) == days * len(
        set(location_ids)
    )


def close_day(session: Session, day: date, now: datetime) -> tuple[int, int]:
    """Store the closing of `day` at every location whose day is over by `now` and not closed
    yet; idempotent (a closed day is never rewritten). Returns (locations closed, SKU rows)."""
    # one closing of a day at a time: a concurrent one waits here, then finds the day closed
    session.execute(text("SELECT pg_advisory_xact_lock(46, :d)"), {"d": day.toordinal()})
    locations = session.execute(select(Location.id, Location.timezone).order_by(Location.id)).all()
    nxt = day + timedelta(days=1)
    done = closed_days(session, [int(r.id) for r in locations], day, nxt)
    live: list[tuple[int, datetime, datetime]] = []
    chained: list[tuple[int, datetime, datetime]] = []
    for loc, tz in locations:
        start, end = local_day_bounds(tz, day)
        if (int(loc), day) in done or end > now:
            continue
        if (int(loc), nxt) in done:
            chained.append((int(loc), *local_day_bounds(tz, nxt)))
        else:
            live.append((int(loc), start, end))
    rows = 0
    for group, sql in ((live, _LIVE), (chained, _CHAINED)):
        if group:
            bounds, params = _bounds(group)
            done_now = session.execute(
                text(sql.format(bounds=bounds)), {**params, "day": day, "next": nxt}
            )
            rows += done_now.rowcount  # type: ignore[attr-defined]  # DML executes to a CursorResult
    closing = [r[0] for r in live + chained]
    if closing:
        session.execute(text(_MARK), {"day": day, "locs": closing})
    return len(closing), rows
