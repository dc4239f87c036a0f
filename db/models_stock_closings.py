"""Stock closings (migration 0046, issue 16): each location's sellable on hand per SKU at the end
of each business day, written once when the day has closed (activities/stock_closings.py), so
the KPI report reads a day's opening and closing stock instead of every stock movement since.

`stock_closings` holds the SKUs whose closing was not zero (a SKU without a row closed the day
with nothing); `stock_closing_days` says which location's day has been closed (only then are
its rows complete: a report over a day not closed yet computes the closing from the ledger)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base


class StockClosing(Base):
    __tablename__ = "stock_closings"
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)  # sellable, at the day's end (never 0 here)


class StockClosingDay(Base):
    __tablename__ = "stock_closing_days"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    skus: Mapped[int] = mapped_column(Integer)  # rows written to stock_closings
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
