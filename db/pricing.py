"""Load what pricing needs for a till and price a basket with the domain rules (read only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from db.repositories import approval_rules, catalog
from domain.discounts import Adjustment, Applied, apply_adjustments
from domain.errors import InvalidRequest, NotFound
from domain.pricing import GIFT_CARD_SKU, PriceInput, Quote, price_basket


@dataclass(frozen=True)
class BasketItem:
    sku: str
    quantity: int
    # Set only by the server for what has no catalogue price (a gift card's chosen value); a
    # client's price is never used: an offline sale is priced as of its time instead.
    unit_price: int | None = None


def price_for_till(
    session: Session,
    till: catalog.TillView,
    basket: Sequence[BasketItem],
    items: dict[str, catalog.CatalogItem] | None = None,
    *,
    at: datetime | None = None,
) -> Quote:
    """Price a basket at a till's store: its prices (valid now, or at `at`), its tax rates,
    inclusive or exclusive. `items` are the basket's catalogue items when the caller has loaded
    them already (as of the same time)."""
    if items is None:
        items = catalog_items(session, till, basket, at)
    # Each item carries its tax category's rate at this store: no separate query for the rates.
    rates = {i.tax_code: i.tax_rate_bp for i in items.values() if i.tax_rate_bp is not None}
    inputs = []
    for no, line in enumerate(basket, start=1):
        item = items.get(line.sku)
        if item is None:
            raise NotFound(f"Line {no}: no product with SKU {line.sku}.")
        price = line.unit_price if line.unit_price is not None else item.unit_price
        if price is None or (line.unit_price is None and item.currency != till.currency):
            raise InvalidRequest(f"Line {no}: {item.name} has no price at this store.")
        inputs.append(PriceInput(no, item.sku, item.name, line.quantity, price, item.tax_code))
    return price_basket(
        inputs, rates, currency=till.currency, prices_include_tax=till.prices_include_tax
    )


def catalog_items(
    session: Session,
    till: catalog.TillView,
    basket: Sequence[BasketItem],
    at: datetime | None = None,
) -> dict[str, catalog.CatalogItem]:
    """The basket's items with the prices valid now, or at `at`."""
    return catalog.items_by_sku(session, till.location_id, [b.sku for b in basket], at)


def adjusted_quote(
    session: Session,
    till: catalog.TillView,
    basket: Sequence[BasketItem],
    items: dict[str, catalog.CatalogItem] | None,
    adjustments: Sequence[Adjustment],
    role: str,
) -> tuple[Quote, tuple[tuple[Applied, bool], ...]]:
    """The basket priced now with the cashier's discounts and price overrides, and for each
    adjustment whether someone of `role` needs a manager for it (the store's approval table)."""
    plain = price_for_till(session, till, basket, items)
    if not adjustments:
        return plain, ()
    inputs = [
        PriceInput(ln.line_no, ln.sku, ln.name, ln.quantity, ln.unit_price, ln.tax_code)
        for ln in plain.lines
    ]
    gift_lines = frozenset(ln.line_no for ln in plain.lines if ln.sku == GIFT_CARD_SKU)
    adjusted, applied = apply_adjustments(inputs, adjustments, gift_lines)
    rates = {ln.tax_code: ln.tax_rate_bp for ln in plain.lines}
    quote = price_basket(
        adjusted, rates, currency=till.currency, prices_include_tax=till.prices_include_tax
    )
    rules = approval_rules.rules_for(session, till.location_id)
    return quote, tuple((a, rules[a.action].needs_manager(role, a.share_bp)) for a in applied)
