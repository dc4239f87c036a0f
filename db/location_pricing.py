"""Price a web basket with one location's tax rates and the web store's prices (read only): the
web store's own price list, else the location's, else the default list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from db.models import Location
from db.repositories import catalog
from domain.errors import InvalidRequest, NotFound
from domain.pricing import PriceInput, Quote, price_basket


def price_at_location(
    session: Session,
    location_id: int,
    lines: Sequence[tuple[str, int]],
    *,
    web_store_id: int | None = None,
    at: datetime | None = None,
) -> Quote:
    """Lines of (sku, quantity) priced as the location sells them (now, or at `at`), in its
    currency; with `web_store_id`, that web store's own price list wins where it has a price."""
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"There is no location {location_id} to price web orders at.")
    items = catalog.items_by_sku(
        session, location_id, [sku for sku, _ in lines], at, web_store_id=web_store_id
    )
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
        # Each item carries its tax category's rate here as of the same time.
        {i.tax_code: i.tax_rate_bp for i in items.values() if i.tax_rate_bp is not None},
        currency=loc.currency,
        prices_include_tax=loc.prices_include_tax,
    )
