"""Load what pricing needs for a till and price a basket with the domain rules (read only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from db.promotion_pricing import NOTHING, Promoted, PromotionScope, promote
from db.repositories import approval_rules, catalog
from domain.discounts import Adjustment, Applied, apply_adjustments
from domain.errors import InvalidRequest, NotFound
from domain.pricing import GIFT_CARD_SKU, PriceInput, Quote, price_basket
from domain.promotions import price_inputs


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


@dataclass(frozen=True)
class PricedBasket:
    """A basket priced with its promotions and the cashier's adjustments."""

    quote: Quote
    # Each adjustment as applied, and whether someone of the role needs a manager for it.
    changes: tuple[tuple[Applied, bool], ...] = ()
    promoted: Promoted = NOTHING


def adjusted_quote(
    session: Session,
    till: catalog.TillView,
    basket: Sequence[BasketItem],
    items: dict[str, catalog.CatalogItem] | None,
    adjustments: Sequence[Adjustment],
    role: str,
    promotions: PromotionScope | None = None,
) -> PricedBasket:
    """The basket priced with the promotions (first) and the cashier's discounts and price
    overrides (after them), and for each adjustment whether someone of `role` needs a manager
    for it (the store's approval table)."""
    if items is None:
        items = catalog_items(session, till, basket)
    plain = price_for_till(session, till, basket, items)
    if not adjustments and promotions is None:
        return PricedBasket(plain)
    inputs = [
        PriceInput(ln.line_no, ln.sku, ln.name, ln.quantity, ln.unit_price, ln.tax_code)
        for ln in plain.lines
    ]
    promoted = promote(session, inputs, {k: v.category for k, v in items.items()}, promotions)
    if promoted.result is None and not adjustments:
        return PricedBasket(plain)
    if promoted.result is None:
        gift_lines = frozenset(ln.line_no for ln in plain.lines if ln.sku == GIFT_CARD_SKU)
        adjusted, applied = apply_adjustments(inputs, adjustments, gift_lines)
    else:
        adjusted, applied = price_inputs(inputs, promoted.result, adjustments)
    rates = {ln.tax_code: ln.tax_rate_bp for ln in plain.lines}
    quote = price_basket(
        adjusted, rates, currency=till.currency, prices_include_tax=till.prices_include_tax
    )
    if not applied:
        return PricedBasket(quote, (), promoted)
    rules = approval_rules.rules_for(session, till.location_id)
    return PricedBasket(
        quote,
        tuple((a, rules[a.action].needs_manager(role, a.share_bp)) for a in applied),
        promoted,
    )
