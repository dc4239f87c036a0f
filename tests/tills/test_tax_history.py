"""Tax rates keep their history like prices do: an item is taxed at the rate valid at the time
asked for (an offline sale's sold_at), and a change never rewrites the past."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Location, LocationTaxRate, Price, Product, TaxCategory, Variant
from db.repositories import catalog
from db.session import Database
from domain.errors import InvalidRequest


def _item_with_own_category(db: Database, location_id: int, rate_bp: int) -> tuple[str, str]:
    """A product in a tax category of its own (so no other test sees the change)."""
    code = f"t-{uuid.uuid4().hex[:8]}"
    sku = f"TAX-{uuid.uuid4().hex[:8].upper()}"
    since = datetime(2020, 1, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        category = TaxCategory(code=code, name=code)
        s.add(category)
        s.flush()
        s.add(
            LocationTaxRate(location_id=location_id, tax_category_id=category.id, rate_bp=rate_bp)
        )
        product = Product(
            code=sku, name=sku, category="test", tax_category_id=category.id, tracks_stock=False
        )
        s.add(product)
        s.flush()
        variant = Variant(product_id=product.id, sku=sku, name="", attributes={}, active=True)
        s.add(variant)
        s.flush()
        s.add(Price(variant_id=variant.id, amount=1190, currency="EUR", valid_from=since))
    return code, sku


def test_an_item_is_taxed_at_the_rate_valid_at_its_time(db: Database) -> None:
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
    assert ber is not None
    code, sku = _item_with_own_category(db, ber, 1900)
    change_at = datetime.now(UTC) + timedelta(hours=1)
    with db.unit_of_work() as s:
        catalog.change_tax_rate(s, ber, code, 700, at=change_at)
    with db.unit_of_work() as s:
        now = catalog.items_by_sku(s, ber, [sku])[sku]
        before = catalog.items_by_sku(s, ber, [sku], at=change_at - timedelta(minutes=1))[sku]
        after = catalog.items_by_sku(s, ber, [sku], at=change_at + timedelta(minutes=1))[sku]
        rows = s.scalars(
            select(LocationTaxRate)
            .join(TaxCategory, TaxCategory.id == LocationTaxRate.tax_category_id)
            .where(TaxCategory.code == code)
            .order_by(LocationTaxRate.valid_from)
        ).all()
        assert catalog.tax_rates(s, ber)[code] == 1900  # the rate in force now
    assert (now.tax_rate_bp, before.tax_rate_bp, after.tax_rate_bp) == (1900, 1900, 700)
    # The old row is kept, closed where the new one opens: never overwritten.
    assert [(r.rate_bp, r.valid_to) for r in rows] == [(1900, change_at), (700, None)]


def test_a_tax_change_never_rewrites_the_past(db: Database) -> None:
    with db.unit_of_work() as s:
        ber = s.scalar(select(Location.id).where(Location.code == "BER"))
    assert ber is not None
    code, _ = _item_with_own_category(db, ber, 2300)
    with pytest.raises(InvalidRequest), db.unit_of_work() as s:
        catalog.change_tax_rate(s, ber, code, 600, at=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(InvalidRequest), db.unit_of_work() as s:
        catalog.change_tax_rate(s, ber, code, 20_000)
