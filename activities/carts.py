"""A storefront cart's database steps: open, set a line (reserve), expire (release); each
idempotent.

A line is held at one location: the one it is held at already if it still has enough, else the
first location in routing order that has the whole quantity (a pickup cart: the pickup store).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session
from temporalio import activity

from contracts.cart import (
    CartClose,
    CartLineOut,
    CartLineSet,
    CartOpen,
    CartRequest,
    CartState,
    CartStatus,
)
from contracts.errors import encode_errors
from db.repositories import availability, carts, reservations
from db.repositories.reservations import CART, OutOfStock
from db.session import Database
from domain import routing
from domain.errors import Conflict, InvalidRequest, LimitReached, NotFound
from domain.pricing import MAX_LINE_QUANTITY


def _state(view: carts.CartView) -> CartState:
    return CartState(
        cart_id=view.cart_id,
        status=cast(CartStatus, view.status),  # the table's CHECK allows only these
        expires_at=view.expires_at,
        lines=tuple(
            CartLineOut(sku=ln.sku, quantity=ln.quantity, location_code=ln.location_code)
            for ln in view.lines
        ),
        pickup_location_id=view.pickup_location_id,
    )


@encode_errors
class CartActivities:
    """Carts and their short-lived reservations."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @activity.defn(name="cart.open")
    def open(self, cmd: CartOpen) -> CartState:
        """Create the cart row (once), unless the web store or the shopper has as many open carts
        as allowed (429)."""
        r = cmd.request
        with self.db.unit_of_work() as s:
            if carts.cart(s, r.cart_id) is None:  # a retry finds its cart, and is never refused
                self._check_caps(s, r)
            carts.open_cart(
                s,
                cart_id=r.cart_id,
                store_id=r.store_id,
                pickup_location_id=r.pickup_location_id,
                expires_at=cmd.expires_at,
                shopper=r.shopper,
            )
            view = carts.cart(s, r.cart_id)
        assert view is not None
        return _state(view)

    @staticmethod
    def _check_caps(s: Session, r: CartRequest) -> None:
        if not (r.max_open_per_store or (r.shopper and r.max_open_per_shopper)):
            return
        carts.lock_opening(s, r.store_id)  # the count and the insert after it, in turn
        if r.max_open_per_store and carts.open_count(s, r.store_id) >= r.max_open_per_store:
            raise LimitReached(
                f"This web store has {r.max_open_per_store} open carts, as many as it may; "
                "please try again in a few minutes."
            )
        if r.shopper and r.max_open_per_shopper:
            mine = carts.open_count(s, r.store_id, r.shopper)
            if mine >= r.max_open_per_shopper:
                raise LimitReached(
                    f"You have {mine} open carts, as many as one shopper may; check one out or "
                    "let one expire before you start another."
                )

    @activity.defn(name="cart.set_line")
    def set_line(self, cmd: CartLineSet) -> CartState:
        """Hold exactly `quantity` of a SKU for the cart and push its expiry out; refuses what is
        not there."""
        r = cmd.request
        if not 0 <= cmd.quantity <= MAX_LINE_QUANTITY:
            raise InvalidRequest(f"A quantity must be 0 to {MAX_LINE_QUANTITY}.")
        with self.db.unit_of_work() as s:
            view = carts.cart(s, r.cart_id, lock=True)
            if view is None or view.status != "open":
                raise Conflict(
                    f"Cart {r.cart_id} is {view.status if view else 'gone'}; it takes no changes."
                )
            sku = availability.resolve_skus(s, [cmd.sku]).get(cmd.sku)
            if sku is None:
                raise NotFound(f"No product has SKU or barcode {cmd.sku}.")
            held = [ln for ln in view.lines if ln.sku == sku]
            others = {ln.sku for ln in view.lines} - {sku}
            if cmd.quantity > 0 and not held and len(others) >= r.max_lines:
                raise Conflict(
                    f"A cart holds at most {r.max_lines} different products; remove one before "
                    f"adding {sku}.",
                    code="cart_full",
                )
            current = (held[0].location_id, held[0].quantity) if held else None
            self._hold(s, r, sku, cmd.quantity, current, cmd.expires_at)
            carts.touch(s, r.cart_id, cmd.expires_at)
            view = carts.cart(s, r.cart_id)
        assert view is not None
        return _state(view)

    def _hold(
        self,
        s: Session,
        r: CartRequest,
        sku: str,
        quantity: int,
        held: tuple[int, int] | None,
        expires_at: datetime,
    ) -> None:
        current, current_qty = held if held else (None, 0)

        def hold_at(location_id: int, qty: int) -> None:
            reservations.set_quantity(
                s,
                kind=CART,
                reference=r.cart_id,
                location_id=location_id,
                sku=sku,
                quantity=qty,
                expires_at=expires_at,
                workflow_id=None,
            )

        if quantity == 0:
            if current is not None:
                hold_at(current, 0)
            return
        flags = availability.product_flags(s, [sku]).get(sku, routing.ProductFlags())
        sites = availability.sites(s, [sku], r.location_ids or None)
        if r.pickup_location_id is not None:
            if flags.store_only or flags.online_only:
                raise Conflict(f"{sku} cannot be picked up in a store.")
            order = [x for x in sites if x.location_id == r.pickup_location_id]
        else:
            if flags.store_only:
                raise Conflict(f"{sku} is sold in stores only.")
            order = [
                x
                for x in routing.ranked(sites, None, routing.RoutingRules())
                if routing.may_ship(x, flags)
            ]
        if current is not None:  # try where it is held first: changing location is the exception
            order.sort(key=lambda x: x.location_id != current)
        for site in order:
            try:
                with s.begin_nested():  # a refusal here leaves the cart as it was
                    hold_at(site.location_id, quantity)
                    if current is not None and current != site.location_id:
                        hold_at(current, 0)
                return
            except OutOfStock:
                continue
        if not order:
            raise Conflict(f"{sku} is not sold from any of this web store's locations.")
        best = max(x.has(sku) + (current_qty if x.location_id == current else 0) for x in order)
        raise Conflict(
            f"Only {best} of {sku} can be held for this cart; asked for {quantity}.",
            code="out_of_stock",
        )

    @activity.defn(name="cart.close")
    def close(self, cmd: CartClose) -> int:
        """Expire the cart: release whatever it still holds (nothing after a checkout took it over);
        once."""
        with self.db.unit_of_work() as s:
            released = reservations.release(s, kind=CART, reference=cmd.cart_id)
            if cmd.status == "expired":
                carts.set_status(s, cmd.cart_id, "expired", only_from=("open",))
            else:
                carts.set_status(s, cmd.cart_id, cmd.status, only_from=("open", "checked_out"))
        return sum(h.quantity for h in released)

    @activity.defn(name="cart.view")
    def view(self, cart_id: str) -> CartState:
        """The cart as it is in the database."""
        with self.db.unit_of_work() as s:
            v = carts.cart(s, cart_id)
        if v is None:
            raise NotFound(f"There is no cart {cart_id}.")
        return _state(v)
