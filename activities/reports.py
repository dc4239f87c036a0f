"""The daily report pack's activities: which day to pack and when it has closed, and one report
of the pack made for every store and stored (idempotent: a stored file is never rewritten)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from temporalio import activity

from contracts.errors import encode_errors
from contracts.reports import (
    PACK_FORMATS,
    PackFileCmd,
    PackFileDone,
    PackPlan,
    PackPlanCmd,
    iso_day,
)
from db.models import Location
from db.repositories import report_packs, store_hours
from db.session import Database
from domain.day_close import day_closed_at, last_closed_day
from domain.store_hours import StoreHours
from reports import registry
from reports.base import ReportParams
from reports.render import render


def store_codes(db: Database) -> list[str]:
    with db.unit_of_work() as s:
        return list(
            s.scalars(
                select(Location.code)
                .where(Location.active, Location.kind == "store")
                .order_by(Location.code)
            )
        )


def all_store_hours(db: Database) -> list[StoreHours]:
    with db.unit_of_work() as s:
        ids = s.scalars(select(Location.id).where(Location.active, Location.kind == "store"))
        return [store_hours.hours(s, i) for i in ids]


@encode_errors
class ReportActivities:
    def __init__(self, db: Database, context: Callable[[], registry.ReportContext]) -> None:
        self.db = db
        self.context = context

    @activity.defn(name="reports.plan")
    def plan(self, cmd: PackPlanCmd) -> PackPlan:
        """The business day to pack (the one asked for, else the last one every store has
        closed) and when it is over (the last store's closing time plus the grace)."""
        grace = timedelta(minutes=cmd.grace_minutes)
        stores = all_store_hours(self.db)
        day = (
            iso_day(cmd.business_date)
            if cmd.business_date
            else last_closed_day(stores, cmd.at, grace)
        )
        return PackPlan(
            business_date=day.isoformat(),
            ready_at=day_closed_at(stores, day, grace),
            reports=tuple(s.name for s in registry.all_specs() if s.day_close),
            stores=tuple(store_codes(self.db)),
        )

    @activity.defn(name="reports.make_file")
    def make_file(self, cmd: PackFileCmd) -> PackFileDone:
        """One report of the day for every store, stored in each pack format once."""
        day = iso_day(cmd.business_date)
        with self.db.unit_of_work() as s:
            have = {f.format for f in report_packs.for_day(s, day) if f.report == cmd.report}
            if all(f in have for f in PACK_FORMATS):
                return PackFileDone(report=cmd.report, files=(), rows=0)
            result = registry.run(s, cmd.report, ReportParams(day, day), self.context())
        stored: list[str] = []
        for fmt in PACK_FORMATS:
            data, kind = render(result, fmt)  # type: ignore[arg-type]  # PACK_FORMATS are Formats
            with self.db.unit_of_work() as s:
                if report_packs.store(s, day, cmd.report, kind, data, cmd.workflow_id):
                    stored.append(kind)
        rows = sum(len(sec.frame) for sec in result.sections)
        return PackFileDone(report=cmd.report, files=tuple(stored), rows=rows)


def report_activities(
    db: Database, context: Callable[[], registry.ReportContext]
) -> list[Callable[..., object]]:
    acts = ReportActivities(db, context)
    return [acts.plan, acts.make_file]
