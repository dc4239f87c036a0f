"""Report packs (migration 0023): the day-close reports the daily schedule made, stored as the
files finance downloads (one row per business day, report and format; never rewritten)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class ReportPack(Base):
    __tablename__ = "report_packs"
    id: Mapped[int] = mapped_column(primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    report: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))  # csv | zip | xlsx | html | json
    content: Mapped[bytes] = mapped_column(LargeBinary)
    workflow_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (UniqueConstraint("business_date", "report", "format"),)
