"""A report's scope: which stores (with their timezone and currency), tills and channels, and for
each store the UTC instants its business days start and end, so loaders filter on indexed
timestamps (`placed_at >= utc_from AND placed_at < utc_to`) rather than converting every row."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Location, Till
from domain.errors import NotFound

CHANNELS = ("store", "web", "shopify", "woocommerce", "magento")


@dataclass(frozen=True)
class Scope:
    date_from: date
    date_to: date
    # location_id, code, name, timezone, currency, utc_from, utc_to (one row per store in scope)
    stores: pd.DataFrame
    till_ids: tuple[int, ...]  # empty: every till of the stores
    channels: tuple[str, ...]  # empty: every channel
    locale: str = ""  # the stores' common locale (money on the report's page); "" when mixed

    @property
    def location_ids(self) -> list[int]:
        return [int(v) for v in self.stores["location_id"]]

    def bounds(self) -> tuple[str, dict[str, Any]]:
        """A VALUES list of (location_id, utc_from, utc_to) to join on: `JOIN ({sql}) AS b(...)`.

        The parameters also hold `env_from` / `env_to`, the earliest start and latest end over
        the stores: a loader filters on them as constants beside the per-store join, since
        PostgreSQL cannot see through the VALUES list how narrow the window is (without them it
        guesses a third of the table and scans all of it)."""
        rows = []
        params: dict[str, Any] = {}
        for i, r in enumerate(self.stores.itertuples(index=False)):
            rows.append(
                f"(CAST(:loc{i} AS integer), CAST(:from{i} AS timestamptz), "
                f"CAST(:to{i} AS timestamptz))"
            )
            params |= {f"loc{i}": int(r.location_id), f"from{i}": r.utc_from, f"to{i}": r.utc_to}
        if not rows:  # nothing in scope: a VALUES list that matches nothing
            empty = "SELECT NULL::integer, NULL::timestamptz, NULL::timestamptz WHERE false"
            return empty, {"env_from": None, "env_to": None}
        params |= {
            "env_from": min(self.stores["utc_from"]),
            "env_to": max(self.stores["utc_to"]),
        }
        return "VALUES " + ", ".join(rows), params

    def window(self, location: str, at: str, prefix: str = "w") -> tuple[str, dict[str, Any]]:
        """A predicate: the timestamp `at` of a row of store `location` (both SQL expressions)
        falls in that store's days of the scope. Stores with the same bounds (a timezone) share
        one term, `location = ANY(ids) AND at >= from AND at < to`, all constants: PostgreSQL
        estimates the window's rows right (a day is a day, the month most of the table) and
        reads them through a (location_id, timestamp) index. Same rows as joining `bounds()`.
        The parameters are named `{prefix}…` (give each use in one statement its own)."""
        if self.stores.empty:
            return "FALSE", {}
        terms: list[str] = []
        params: dict[str, Any] = {}
        groups = self.stores.groupby(["utc_from", "utc_to"], sort=True)["location_id"]
        for i, ((utc_from, utc_to), ids) in enumerate(groups):
            terms.append(
                f"({location} = ANY(CAST(:{prefix}ids{i} AS integer[])) "
                f"AND {at} >= :{prefix}from{i} AND {at} < :{prefix}to{i})"
            )
            params |= {
                f"{prefix}ids{i}": sorted(int(v) for v in ids),
                f"{prefix}from{i}": pd.Timestamp(utc_from).to_pydatetime(),
                f"{prefix}to{i}": pd.Timestamp(utc_to).to_pydatetime(),
            }
        return "(" + " OR ".join(terms) + ")", params

    def day_bounds(self, location_id: int, day: date) -> tuple[datetime, datetime]:
        tz = self.stores.loc[self.stores["location_id"] == location_id, "timezone"].iloc[0]
        return local_day_bounds(str(tz), day)


def local_day_bounds(timezone: str, day: date, days: int = 1) -> tuple[datetime, datetime]:
    """[start, end) in UTC of `days` business days from `day` in `timezone` (DST-safe)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=days), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def resolve(
    session: Session,
    date_from: date,
    date_to: date,
    stores: Sequence[str] = (),
    tills: Sequence[str] = (),
    channels: Sequence[str] = (),
    allowed_location_ids: Collection[int] | None = None,
) -> Scope:
    """The scope of a report for a caller who may see `allowed_location_ids` (None: all): its
    stores and warehouses (web orders are the location's that fulfilled them).
    Unknown store or till codes are a 404; stores the caller may not see are left out (and a
    named one is a 404, as if it did not exist)."""
    q = select(
        Location.id,
        Location.code,
        Location.name,
        Location.timezone,
        Location.currency,
        Location.locale,
    )
    rows = session.execute(q.order_by(Location.code)).all()
    known = {r.code: r for r in rows}
    for code in stores:
        r = known.get(code)
        if r is None or (allowed_location_ids is not None and r.id not in allowed_location_ids):
            raise NotFound(f"There is no store {code} you may report on.", code="unknown_store")
    picked = [
        r
        for r in rows
        if (not stores or r.code in stores)
        and (allowed_location_ids is None or r.id in allowed_location_ids)
    ]
    bad_channels = sorted(set(channels) - set(CHANNELS))
    if bad_channels:
        raise NotFound(
            f"Unknown channel {', '.join(bad_channels)}; channels: {', '.join(CHANNELS)}.",
            code="unknown_channel",
        )
    till_ids: list[int] = []
    if tills:
        found = dict(
            session.execute(
                select(Till.code, Till.id).where(
                    Till.code.in_(list(tills)), Till.location_id.in_([r.id for r in picked])
                )
            ).all()
        )
        missing = sorted(set(tills) - set(found))
        if missing:
            raise NotFound(
                f"No till {', '.join(missing)} in the stores of this report.", code="unknown_till"
            )
        till_ids = [int(found[t]) for t in tills]
    days = (date_to - date_from).days + 1
    frame = pd.DataFrame(
        [
            {
                "location_id": int(r.id),
                "code": r.code,
                "name": r.name,
                "timezone": r.timezone,
                "currency": r.currency,
                "utc_from": local_day_bounds(r.timezone, date_from, days)[0],
                "utc_to": local_day_bounds(r.timezone, date_from, days)[1],
            }
            for r in picked
        ],
        columns=["location_id", "code", "name", "timezone", "currency", "utc_from", "utc_to"],
    )
    locales = {r.locale for r in picked}
    common = locales.pop() if len(locales) == 1 else ""
    return Scope(date_from, date_to, frame, tuple(till_ids), tuple(channels), common)


# Memory a report's sorts and hash tables may each use before spilling to disk (PostgreSQL's
# default is 4 MB): a day of 200 stores is a few hundred thousand lines, which then fit.
REPORT_WORK_MEM = "64MB"
# What the planner takes a random page read to cost against a sequential one (default 4, for
# spinning disks): a report looks a window's rows up by index (an order by its workflow id, a
# payment by its PaymentIntent) in tables that are cached or on SSD, and with the default the
# planner would rather read the whole table to hash it.
REPORT_RANDOM_PAGE_COST = 1.1


def tune(session: Session, lookups: bool = False) -> None:
    """Planner settings for a report's statements, for this transaction only (`SET LOCAL`: the
    connection goes back to the pool with its own settings). `lookups`: the report joins a
    window's rows to others one by one by index (REPORT_RANDOM_PAGE_COST); a report that reads
    most of a table (the stock ledger since a day) keeps the default."""
    from sqlalchemy import text

    session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    if lookups:
        session.execute(text(f"SET LOCAL random_page_cost = {REPORT_RANDOM_PAGE_COST}"))


def read_frame(session: Session, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """One query's rows as a frame (column names from the query)."""
    from sqlalchemy import text

    result = session.execute(text(sql), params)
    columns = list(result.keys())
    # Plain tuples: pandas probes each SQLAlchemy Row for namedtuple fields, and a Row answers
    # an unknown attribute by raising inside (a few microseconds a row, seconds a report).
    rows = [tuple(r) for r in result.fetchall()]
    return pd.DataFrame(rows, columns=columns)
