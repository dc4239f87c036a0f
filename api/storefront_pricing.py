"""How the storefront prices a cart and what its checkout pins: the promotions of its pricing
location on the web channel, by the same engine as the till (read only)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from contracts.promotions import PromotionPin
from db.location_pricing import PromotedQuote, promoted_at_location, web_scope
from db.repositories import carts, promotions, webstores
from db.session import Database
from domain.errors import InvalidRequest, NotFound


def pricing_location(store: webstores.StoreConfig, pickup_location_id: int | None) -> int:
    """Where the web store's orders are priced: its pricing location, else the pickup store,
    else its first location (as the order's acceptance does)."""
    found = store.pricing_location_id or pickup_location_id or next(iter(store.location_ids), None)
    if found is None:
        raise InvalidRequest(f"Web store {store.code} has no location to price its orders at.")
    return found


def price_cart(
    db: Database,
    store: webstores.StoreConfig,
    view: carts.CartView,
    coupon_codes: tuple[str, ...],
    pinned: PromotionPin | None = None,
) -> PromotedQuote:
    """The cart's lines priced with the storefront's promotions, as checkout will price them."""
    if not view.lines:
        raise InvalidRequest("The cart is empty.", code="empty_cart")
    with db.unit_of_work() as s:
        where = pricing_location(store, view.pickup_location_id)
        return promoted_at_location(
            s,
            where,
            [(ln.sku, ln.quantity) for ln in view.lines],
            web_store_id=store.id,
            scope=web_scope(s, where, pinned, coupon_codes, datetime.now(UTC)),
        )


def own_cart(db: Database, store: webstores.StoreConfig, cart_id: str) -> carts.CartView:
    """The web store's own cart (another store's is simply not found)."""
    with db.unit_of_work() as s:
        view = carts.cart(s, cart_id)
    if view is None or view.store_id != store.id:
        raise NotFound(f"There is no cart {cart_id}.")
    return view


def checkout_pin(
    db: Database, store: webstores.StoreConfig, pickup_location_id: int | None
) -> PromotionPin:
    """The storefront's promotions as they are at checkout: the order is priced with these."""
    with db.unit_of_work() as s:
        return _pin(s, pricing_location(store, pickup_location_id))


def _pin(s: Session, location_id: int) -> PromotionPin:
    return promotions.pin(s, promotions.location_code(s, location_id), "web")
