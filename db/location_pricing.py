"""Price a web basket with one location's tax rates and the web store's prices (read only): the
web store's own price list, else the location's, else the default list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from contracts.promotions import PromotionPin
from db.models import Location
from db.promotion_pricing import NOTHING, Promoted, PromotionScope, promote
from db.repositories import catalog, promotions
from domain.errors import InvalidRequest, NotFound
from domain.pricing import PriceInput, Quote, price_basket
from domain.promotions import price_inputs


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
    return promoted_at_location(session, location_id, lines, web_store_id=web_store_id, at=at).quote


@dataclass(frozen=True)
class PromotedQuote:
    quote: Quote
    promoted: Promoted = NOTHING


def web_scope(
    session: Session,
    location_id: int,
    pinned: PromotionPin | None,
    coupon_codes: Sequence[str],
    at: datetime,
) -> PromotionScope:
    """The storefront's promotions at its pricing location: those pinned (as they are now if
    none), without customer groups (a shopper is not signed in: an email typed at checkout never
    unlocks a group's price)."""
    loc = _location(session, location_id)
    return PromotionScope(
        pin=pinned or promotions.pin(session, loc.code, "web"),
        channel="web",
        currency=loc.currency,
        timezone=loc.timezone,
        at=at,
        coupon_codes=tuple(coupon_codes),
    )


def promoted_at_location(
    session: Session,
    location_id: int,
    lines: Sequence[tuple[str, int]],
    *,
    web_store_id: int | None = None,
    at: datetime | None = None,
    scope: PromotionScope | None = None,
) -> PromotedQuote:
    """`price_at_location` with the promotions of `scope` taken off (the same engine as the
    till's)."""
    loc = _location(session, location_id)
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
    promoted = promote(session, inputs, {k: v.category for k, v in items.items()}, scope)
    priced = inputs if promoted.result is None else list(price_inputs(inputs, promoted.result)[0])
    quote = price_basket(
        priced,
        # Each item carries its tax category's rate here as of the same time.
        {i.tax_code: i.tax_rate_bp for i in items.values() if i.tax_rate_bp is not None},
        currency=loc.currency,
        prices_include_tax=loc.prices_include_tax,
    )
    return PromotedQuote(quote, promoted)


def _location(session: Session, location_id: int) -> Location:
    loc = session.get(Location, location_id)
    if loc is None:
        raise NotFound(f"There is no location {location_id} to price web orders at.")
    return loc
