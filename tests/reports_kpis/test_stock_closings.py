"""Stock closings (migration 0046): the KPI report's stock figures from the stored closings equal
the ones computed from the ledger, with known answers; the activity closes a day once, only when
it is over, and backfills from the newest day back; a range with a day not closed falls back to
the ledger (PostgreSQL)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pandas.testing as pdt
import pytest
from sqlalchemy import delete, select

from activities.stock_closings import StockClosingActivities
from contracts.stock_closings import StockCloseCmd
from db.models import Location, Product, TaxCategory, Variant
from db.models_stock_closings import StockClosing, StockClosingDay
from db.report_loaders import kpis
from db.report_loaders import scope as scopes
from db.repositories import stock, stock_closings
from db.session import Database

BERLIN = ZoneInfo("Europe/Berlin")


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def ledger(db: Database) -> Iterator[tuple[str, date]]:
    """A Berlin store with two costed SKUs and a known ledger around a day of its own (a random
    past day, so other tests' stores hold nothing then): (store code, first day of the range)."""
    tag = uuid.uuid4().hex[:8]
    d0 = date(2012, 1, 1) + timedelta(days=random.randrange(3000))
    with db.unit_of_work() as s:
        loc = Location(code=f"SC{tag}", name="Closing store", kind="store",
                       timezone="Europe/Berlin", currency="EUR", shift_required=False)  # fmt: skip
        tax = s.scalar(select(TaxCategory).where(TaxCategory.code == "standard"))
        assert tax is not None
        product = Product(code=f"SCP{tag}", name="Closing mug", category=f"cat{tag}",
                          tax_category_id=tax.id, cost_price=400, cost_currency="EUR")  # fmt: skip
        s.add_all([loc, product])
        s.flush()
        a, b = f"SCA{tag}", f"SCB{tag}"
        s.add_all([Variant(product_id=product.id, sku=a, name="A"),
                   Variant(product_id=product.id, sku=b, name="B")])  # fmt: skip
        s.flush()
        moves = [  # (sku, delta, reason, day, hour)
            (a, 5, "receipt", d0 - timedelta(days=2), 9),
            (b, 3, "receipt", d0 - timedelta(days=2), 9),
            (a, -2, "sale", d0, 12),
            (a, -3, "sale", d0 + timedelta(days=1), 12),  # A ends that day with nothing
            (a, 4, "receipt", d0 + timedelta(days=2), 9),
            (a, -1, "adjustment:damaged", d0 + timedelta(days=2), 18),
            (a, -1, "sale", d0 + timedelta(days=5), 12),  # after the range: on hand now is 2
        ]
        for i, (sku, delta, reason, day, hour) in enumerate(moves):
            stock.apply_movements(
                s, loc.id, [stock.Movement(sku, delta, reason, "test", f"sc:{tag}:{i}")],
                workflow_id=None, occurred_at=_at(day, hour),
            )  # fmt: skip
        code = loc.code
    yield code, d0
    with db.unit_of_work() as s:
        days = [d0 + timedelta(days=i) for i in range(-1, 4)]
        s.execute(delete(StockClosing).where(StockClosing.business_day.in_(days)))
        s.execute(delete(StockClosingDay).where(StockClosingDay.business_day.in_(days)))


def _frames(
    db: Database, code: str, d_from: date, d_to: date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    with db.unit_of_work() as s:
        sc = scopes.resolve(s, d_from, d_to, stores=(code,))
        live = kpis.load_stock_and_stockouts_live(s, sc)
        chosen = kpis.load_stock_and_stockouts(s, sc)
        closed = stock_closings.all_closed(s, sc.location_ids, d_from - timedelta(days=1), d_to)
        stored = kpis.load_stock_and_stockouts_stored(s, sc) if closed else None
    return live, chosen, stored


KNOWN = {
    "opening_units": 8, "closing_units": 6, "opening_cost": 3200, "closing_cost": 2400,
    "received_units": 4, "sold_units": 5, "shrink_units": 1, "shrink_cost": 400,
    "sku_days": 6, "out_days": 1,
}  # fmt: skip


def test_stored_closings_give_the_ledgers_answer(db: Database, ledger: tuple[str, date]) -> None:
    code, d0 = ledger
    d2 = d0 + timedelta(days=2)
    live, chosen, stored = _frames(db, code, d0, d2)
    assert stored is None  # nothing closed yet: the report reads the ledger
    pdt.assert_frame_equal(live, chosen)
    assert {k: int(live.iloc[0][k]) for k in KNOWN} == KNOWN

    acts = StockClosingActivities(db)
    # The newest day from the ledger, then back to the day before the range, each from the next.
    res = acts.close_day(
        StockCloseCmd(business_date=d2.isoformat(), back_to=(d0 - timedelta(days=1)).isoformat())
    )
    assert res.days == 4 and res.locations >= 4
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == code))
        rows = s.execute(
            select(StockClosing.business_day, StockClosing.sku, StockClosing.on_hand).where(
                StockClosing.location_id == loc
            )
        ).all()
    a = {d: n for d, sku, n in rows if sku.startswith("SCA")}
    # A: 5 before the range, 3 after its first day, none after the second (no row), then 3
    assert a == {d0 - timedelta(days=1): 5, d0: 3, d2: 3}
    live2, chosen2, stored2 = _frames(db, code, d0, d2)
    assert stored2 is not None
    pdt.assert_frame_equal(live2, stored2)
    pdt.assert_frame_equal(live2, chosen2)
    assert {k: int(stored2.iloc[0][k]) for k in KNOWN} == KNOWN
    # One day, from its stored opening and closing: A sold 3 and ran out.
    one_live, _, one_stored = _frames(db, code, d0 + timedelta(days=1), d0 + timedelta(days=1))
    assert one_stored is not None
    pdt.assert_frame_equal(one_live, one_stored)
    assert int(one_stored.iloc[0]["out_days"]) == 1 and int(one_stored.iloc[0]["sold_units"]) == 3

    # Idempotent: closed days are left as they are.
    again = acts.close_day(
        StockCloseCmd(business_date=d2.isoformat(), back_to=(d0 - timedelta(days=1)).isoformat())
    )
    assert again.locations == 0 and again.skus == 0


def test_a_day_not_over_is_not_closed_and_the_report_falls_back(
    db: Database, ledger: tuple[str, date]
) -> None:
    code, d0 = ledger
    d3 = d0 + timedelta(days=3)
    # At midnight UTC the day is not over anywhere: nothing is closed.
    early = StockClosingActivities(db, clock=lambda: datetime.combine(d3, time(0), tzinfo=UTC))
    assert early.close_day(StockCloseCmd(business_date=d3.isoformat())).locations == 0
    StockClosingActivities(db).close_day(
        StockCloseCmd(
            business_date=(d0 + timedelta(days=2)).isoformat(),
            back_to=(d0 - timedelta(days=1)).isoformat(),
        )
    )
    # The range's last day is not closed: the report reads the ledger for it.
    live, chosen, stored = _frames(db, code, d0, d3)
    assert stored is None
    pdt.assert_frame_equal(live, chosen)
    assert int(live.iloc[0]["closing_units"]) == 6 and int(live.iloc[0]["sku_days"]) == 8


def test_the_activity_refuses_a_bad_range(db: Database) -> None:
    from temporalio.exceptions import ApplicationError

    from contracts.errors import from_failure

    acts = StockClosingActivities(db)
    with pytest.raises(ApplicationError) as bad_range:
        acts.close_day(StockCloseCmd(business_date="2020-01-02", back_to="2020-01-03"))
    with pytest.raises(ApplicationError) as bad_date:
        acts.close_day(StockCloseCmd(business_date="yesterday"))
    codes = [getattr(from_failure(e.value), "code", None) for e in (bad_range, bad_date)]
    assert codes == ["bad_range", "bad_date"]
