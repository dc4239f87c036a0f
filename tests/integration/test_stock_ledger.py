"""The stock ledger's write path: levels move by exactly what applies, once per key, in any
batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from helpers.stock import assert_ledger_balanced, location_id
from sqlalchemy import select

from db.models import Product, StockLevel, TaxCategory, Variant
from db.repositories import stock


def test_a_batch_applies_each_key_once_and_reports_what_each_line_found(db) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    loc = location_id(db, "BER")
    tag = uuid.uuid4().hex[:8]
    sku = f"LEDGER-{tag}"
    now = datetime.now(UTC)
    batch = [
        stock.Movement(sku, 5, "opening", "t", f"{tag}:1"),
        stock.Movement(sku, -2, "sale", "t", f"{tag}:2"),
        stock.Movement(sku, 1, "return", "t", f"{tag}:3", bucket="quarantine"),
        stock.Movement(sku, -2, "sale", "t", f"{tag}:2"),  # the same key again in one batch
        stock.Movement(sku, 4, "transfer", "t", f"{tag}:5", bucket="in_transit"),
        stock.Movement(sku, -1, "transfer", "t", f"{tag}:6", bucket="in_transit"),
    ]
    with db.unit_of_work() as s:
        # A product this very transaction adds (not flushed yet): its first level row is created.
        tax = s.scalars(select(TaxCategory.id)).first()
        product = Product(code=f"P-{tag}", name="Ledger test", tax_category_id=tax)
        s.add(product)
        s.flush()
        s.add(Variant(product_id=product.id, sku=sku, name=""))
        applied = stock.apply_movements(s, loc, batch, workflow_id=None, occurred_at=now)
    assert [(a.applied, a.on_hand_before, a.available_before) for a in applied] == [
        (True, 0, 0),
        (True, 5, 5),
        (True, 3, 3),
        (False, 3, 3),
        (True, 3, 3),  # in transit: outside on_hand
        (True, 3, 3),
    ]
    with db.unit_of_work() as s:
        level = s.get_one(StockLevel, (loc, sku))
        assert (level.on_hand, level.quarantined, level.in_transit, level.reserved) == (3, 1, 3, 0)
        s.execute(StockLevel.__table__.update().where(StockLevel.sku == sku).values(safety_stock=3))  # type: ignore[attr-defined]  # __table__ is a Table

    # Run again (a retried activity): nothing applies, each line sees the level as it is now.
    with db.unit_of_work() as s:
        again = stock.apply_movements(s, loc, batch, workflow_id=None, occurred_at=now)
        more = stock.apply_movements(
            s,
            loc,
            [stock.Movement(sku, -1, "sale", "t", f"{tag}:4")],
            workflow_id=None,
            occurred_at=now,
        )
    assert [(a.applied, a.on_hand_before, a.available_before) for a in again] == [(False, 3, 0)] * 6
    assert [(a.applied, a.on_hand_before, a.available_before) for a in more] == [(True, 3, 0)]
    with db.unit_of_work() as s:
        assert stock.level(s, loc, sku) == stock.Level(loc, sku, 2, 0, 3)
    assert_ledger_balanced(db)
