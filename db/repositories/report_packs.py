"""The stored day-close report packs (written by the daily schedule's activity only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_reports import ReportPack


@dataclass(frozen=True)
class PackFile:
    report: str
    format: str
    size: int


def for_day(session: Session, day: date) -> list[PackFile]:
    rows = session.execute(
        select(ReportPack.report, ReportPack.format, func.length(ReportPack.content))
        .where(ReportPack.business_date == day)
        .order_by(ReportPack.report, ReportPack.format)
    )
    return [PackFile(r, f, int(n)) for r, f, n in rows]


def content(session: Session, day: date, report: str, fmt: str) -> bytes | None:
    return session.scalar(
        select(ReportPack.content).where(
            ReportPack.business_date == day, ReportPack.report == report, ReportPack.format == fmt
        )
    )


def store(
    session: Session, day: date, report: str, fmt: str, data: bytes, workflow_id: str
) -> bool:
    """Keep one file of the day's pack; a pack already made is never rewritten (False)."""
    done = session.execute(
        insert(ReportPack)
        .values(business_date=day, report=report, format=fmt, content=data, workflow_id=workflow_id)
        .on_conflict_do_nothing(index_elements=["business_date", "report", "format"])
        .returning(ReportPack.id)
    ).first()
    return done is not None
