"""Price a web basket with one location's catalogue prices and tax rates (read only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from db.models import Location
from db.repositories import catalog
from domain.errors import InvalidRequest, NotFound
from domain.pricing import PriceInput, Quote, price_basket


def price_at_location(
    session: Session, location_id: int, lines: Sequence[tuple[str, int]]
) -> Quote:
    """Lines of (sku, quantity) priced as the location sells them, in its currency."""
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"There is no location {location_id} to price web orders at.")
    items = catalog.items_by_sku(session, location_id, [sku for sku, _ in lines])
    inputs = []
    for no, (sku, qty) in enumerate(lines, start=1):
        item = items.get(sku)
        if item is None:
            raise NotFound(f"Line {no}: no product with SKU {sku}.")
        if item.unit_price is None or item.currency != loc.currency:
            raise InvalidRequest(f"Line {no}: {item.name} has no price in {loc.currency}.")
        inputs.append(PriceInput(no, sku, item.name, qty, item.unit_price, item.tax_code))
    return price_basket(
        inputs,
        catalog.tax_rates(session, location_id),
        currency=loc.currency,
        prices_include_tax=loc.prices_include_tax,
    )
