"""Daily exchange rates (issue 19): set one (an upsert, audited by the caller), read the rates
of a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_fx import FxRate


@dataclass(frozen=True)
class Rate:
    day: date
    currency: str
    base: str
    rate: Decimal


def set_rate(
    session: Session, *, day: date, currency: str, base: str, rate: Decimal, user_id: int | None
) -> Rate:
    """The day's rate of the pair; setting it again replaces it."""
    values = {
        "day": day,
        "currency": currency.upper(),
        "base": base.upper(),
        "rate": rate,
        "set_by_user_id": user_id,
    }
    session.execute(
        insert(FxRate)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["day", "currency", "base"],
            set_={"rate": rate, "set_by_user_id": user_id},
        )
    )
    return Rate(day=day, currency=currency.upper(), base=base.upper(), rate=rate)


def rates_on(session: Session, day: date, base: str) -> dict[str, Decimal]:
    """{currency: rate into base} of that day."""
    rows = session.execute(
        select(FxRate.currency, FxRate.rate).where(FxRate.day == day, FxRate.base == base.upper())
    )
    return {c: r for c, r in rows}


def rates_of_day(session: Session, day: date) -> list[Rate]:
    rows = session.scalars(
        select(FxRate).where(FxRate.day == day).order_by(FxRate.base, FxRate.currency)
    )
    return [Rate(day=r.day, currency=r.currency, base=r.base, rate=r.rate) for r in rows]
