"""A storefront cart: its lines are held while the customer shops and released by a durable timer."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carts import CartActivities, CartClose, CartLineSet, CartOpen
    from domain.pricing import MAX_LINE_QUANTITY
    from workflows.online_contracts import CartLineChange, CartRequest, CartState
    from workflows.policies import COMPENSATION, STEP


@workflow.defn(name="Cart")
class CartWorkflow:
    """Holds a cart's reservations; every change pushes the expiry out; expiry (or checkout) ends it."""

    @workflow.init
    def __init__(self, req: CartRequest) -> None:
        self._req = req
        self._state: CartState | None = None
        self._deadline: datetime | None = None
        self._changes = 0
        self._lock = asyncio.Lock()  # one change at a time: each computes its target from the last
        self._closing = False
        self._checked_out = False

    @workflow.run
    async def run(self, req: CartRequest) -> CartState:
        ttl = timedelta(seconds=req.ttl_s)
        self._deadline = workflow.now() + ttl
        self._state = await workflow.execute_local_activity_method(
            CartActivities.open, CartOpen(req, self._deadline), **STEP
        )
        while True:
            seen = self._changes
            remaining = (self._deadline - workflow.now()).total_seconds()
            if remaining <= 0:
                if not self._lock.locked():
                    break
                await workflow.wait_condition(
                    lambda: not self._lock.locked()
                )  # a change is finishing
                continue
            try:
                await workflow.wait_condition(lambda: self._changes != seen, timeout=remaining)  # noqa: B023
            except TimeoutError:
                pass
        self._closing = True
        async with self._lock:
            await workflow.execute_local_activity_method(
                CartActivities.close,
                CartClose(req.cart_id, "checked_out" if self._checked_out else "expired"),
                **COMPENSATION,
            )
        self._state = replace(
            self._state, status="checked_out" if self._checked_out else "expired", lines=()
        )
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self._state

    def _refuse_if_closed(self) -> None:
        if self._closing:
            raise ApplicationError(
                f"Cart {self._req.cart_id} has expired; start a new one.", type="Conflict"
            )
        if self._checked_out:
            raise ApplicationError(
                f"Cart {self._req.cart_id} is checked out; it takes no changes.", type="Conflict"
            )

    @workflow.update
    async def change(self, c: CartLineChange) -> CartState:
        """Add to, set or remove a line; the units are held at once or the change is refused (409)."""
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            self._refuse_if_closed()
            assert self._state is not None
            held = sum(ln.quantity for ln in self._state.lines if ln.sku == c.sku)
            target = held + c.quantity if c.mode == "add" else c.quantity
            if not 0 <= target <= MAX_LINE_QUANTITY:
                raise ApplicationError(
                    f"A cart line holds 0 to {MAX_LINE_QUANTITY} units.", type="InvalidRequest"
                )
            deadline = workflow.now() + timedelta(seconds=self._req.ttl_s)
            self._state = await workflow.execute_local_activity_method(
                CartActivities.set_line, CartLineSet(self._req, c.sku, target, deadline), **STEP
            )
            self._deadline = deadline
            self._changes += 1
            return self._state

    @change.validator
    def _validate_change(self, c: CartLineChange) -> None:
        self._refuse_if_closed()
        if c.mode not in ("add", "set") or c.quantity < 0 or (c.mode == "add" and c.quantity == 0):
            raise ApplicationError(
                "Add at least one unit, or set a quantity of 0 or more.", type="InvalidRequest"
            )

    @workflow.update
    async def checkout(self) -> CartState:
        """Freeze the cart for its order; the order takes the holds over. A repeat answers the same."""
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            assert self._state is not None
            if self._closing:
                raise ApplicationError(
                    f"Cart {self._req.cart_id} has expired; start a new one.", type="Conflict"
                )
            if not self._state.lines:
                raise ApplicationError("The cart is empty.", type="InvalidRequest")
            if not self._checked_out:
                self._checked_out = True
                # Leftovers the order does not take over are released one TTL from now.
                self._deadline = workflow.now() + timedelta(seconds=self._req.ttl_s)
                self._changes += 1
            return replace(self._state, status="checked_out")

    @workflow.update
    async def snapshot(self) -> CartState:
        """The cart once it exists (the API creates carts with update-with-start on this)."""
        await workflow.wait_condition(lambda: self._state is not None)
        view = self.view()
        assert view is not None
        return view

    @workflow.query
    def view(self) -> CartState | None:
        """The cart as this workflow sees it."""
        if self._state is None:
            return None
        return replace(self._state, expires_at=self._deadline or self._state.expires_at)
