"""A storefront cart: its lines are held while the customer shops and released by a durable
timer."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carts import CartActivities
    from contracts.cart import (
        CART_WORKFLOW,
        CHANGE_UPDATE,
        CHECKOUT_UPDATE,
        SNAPSHOT_UPDATE,
        VIEW_QUERY,
        CartClose,
        CartLineChange,
        CartLineSet,
        CartOpen,
        CartRequest,
        CartState,
    )
    from contracts.errors import refusal, to_failure
    from domain.errors import Conflict, InvalidRequest
    from domain.pricing import MAX_LINE_QUANTITY
    from workflows.policies import COMPENSATION, STEP
    from workflows.saga import Saga


@workflow.defn(name=CART_WORKFLOW)
class CartWorkflow:
    """Holds a cart's reservations; every change pushes the expiry out (never past the cart's
    maximum lifetime); expiry (or checkout) ends it."""

    @workflow.init
    def __init__(self, req: CartRequest) -> None:
        self._req = req
        self._state: CartState | None = None
        self._deadline: datetime | None = None
        self._changes = 0
        self._lock = asyncio.Lock()  # one change at a time: each computes its target from the last
        self._closing = False
        self._checked_out = False
        self._latest: datetime | None = None  # the cart's absolute end, however often it changes
        self._refused: ApplicationError | None = None  # opening was refused (a cap): no cart

    @workflow.run
    async def run(self, req: CartRequest) -> CartState:
        # Cancelled or failed while holding stock: the holds go back, as if the cart expired.
        saga = Saga()
        saga.push(
            CartActivities.close,
            CartClose(cart_id=req.cart_id, status="expired"),
            local=True,
            **COMPENSATION,
        )
        try:
            await self._hold_until_done(req)
        except BaseException:
            await saga.compensate()
            raise
        saga.clear()  # the normal end closes the cart itself, with the reason it ended
        if self._refused is not None:  # never opened: nothing is held, nothing to close
            await workflow.wait_condition(lambda: workflow.all_handlers_finished())
            raise self._refused
        self._closing = True
        async with self._lock:
            await workflow.execute_local_activity_method(
                CartActivities.close,
                CartClose(
                    cart_id=req.cart_id, status="checked_out" if self._checked_out else "expired"
                ),
                **COMPENSATION,
            )
        assert self._state is not None
        self._state = replace(
            self._state, status="checked_out" if self._checked_out else "expired", lines=()
        )
        await workflow.wait_condition(lambda: workflow.all_handlers_finished())
        return self._state

    async def _hold_until_done(self, req: CartRequest) -> None:
        """Open the cart, then wait until its deadline passes with no change in flight."""
        opened = workflow.now()
        if req.max_lifetime_s > 0:
            self._latest = opened + timedelta(seconds=req.max_lifetime_s)
        self._deadline = self._until(opened)
        try:
            self._state = await workflow.execute_local_activity_method(
                CartActivities.open, CartOpen(request=req, expires_at=self._deadline), **STEP
            )
        except (ActivityError, ApplicationError) as err:
            refused = refusal(err)  # too many open carts, say: the cart is never made
            if refused is None:
                raise
            self._refused = to_failure(refused)
            return
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
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changes != seen, timeout=remaining)  # noqa: B023
        return

    def _until(self, now: datetime) -> datetime:
        """One TTL from now, but never past the cart's absolute end: touching it cannot keep it
        forever."""
        deadline = now + timedelta(seconds=self._req.ttl_s)
        return min(deadline, self._latest) if self._latest is not None else deadline

    async def _opened(self) -> None:
        await workflow.wait_condition(lambda: self._state is not None or self._refused is not None)
        if self._refused is not None:
            raise self._refused

    def _refuse_if_closed(self) -> None:
        if self._closing:
            raise to_failure(Conflict(f"Cart {self._req.cart_id} has expired; start a new one."))
        if self._latest is not None and workflow.now() >= self._latest and not self._checked_out:
            hours = self._req.max_lifetime_s / 3600
            raise to_failure(
                Conflict(
                    f"Cart {self._req.cart_id} has reached its maximum lifetime of {hours:g} h and "
                    "expired; start a new one.",
                    code="cart_closed",
                )
            )
        if self._checked_out:
            raise to_failure(
                Conflict(f"Cart {self._req.cart_id} is checked out; it takes no changes.")
            )

    @workflow.update(name=CHANGE_UPDATE)
    async def change(self, c: CartLineChange) -> CartState:
        """Add to, set or remove a line; the units are held at once or the change is refused
        (409)."""
        await self._opened()
        async with self._lock:
            self._refuse_if_closed()
            assert self._state is not None
            held = sum(ln.quantity for ln in self._state.lines if ln.sku == c.sku)
            target = held + c.quantity if c.mode == "add" else c.quantity
            if not 0 <= target <= MAX_LINE_QUANTITY:
                raise to_failure(
                    InvalidRequest(f"A cart line holds 0 to {MAX_LINE_QUANTITY} units.")
                )
            if target > self._req.max_line_units:
                raise to_failure(
                    Conflict(
                        f"A cart holds at most {self._req.max_line_units} units of one product; "
                        f"this would make {target}.",
                        code="cart_line_full",
                    )
                )
            deadline = self._until(workflow.now())
            self._state = await workflow.execute_local_activity_method(
                CartActivities.set_line,
                CartLineSet(request=self._req, sku=c.sku, quantity=target, expires_at=deadline),
                **STEP,
            )
            self._deadline = deadline
            self._changes += 1
            return self._state

    @change.validator
    def _validate_change(self, c: CartLineChange) -> None:
        self._refuse_if_closed()
        if c.mode not in ("add", "set") or c.quantity < 0 or (c.mode == "add" and c.quantity == 0):
            raise to_failure(
                InvalidRequest("Add at least one unit, or set a quantity of 0 or more.")
            )

    @workflow.update(name=CHECKOUT_UPDATE)
    async def checkout(self) -> CartState:
        """Freeze the cart for its order; the order takes the holds over. A repeat answers the
        same."""
        await self._opened()
        async with self._lock:
            assert self._state is not None
            if self._closing or not self._checked_out:
                self._refuse_if_closed()  # expired (by its TTL or its lifetime); a repeat answers
            if not self._state.lines:
                raise to_failure(InvalidRequest("The cart is empty."))
            if not self._checked_out:
                self._checked_out = True
                # Leftovers the order does not take over are released one TTL from now.
                self._deadline = workflow.now() + timedelta(seconds=self._req.ttl_s)
                self._changes += 1
            return replace(self._state, status="checked_out")

    @workflow.update(name=SNAPSHOT_UPDATE)
    async def snapshot(self) -> CartState:
        """The cart once it exists (the API creates carts with update-with-start on this); refused
        when opening it was (too many open carts)."""
        await self._opened()
        view = self.view()
        assert view is not None
        return view

    @workflow.query(name=VIEW_QUERY)
    def view(self) -> CartState | None:
        """The cart as this workflow sees it."""
        if self._state is None:
            return None
        return replace(self._state, expires_at=self._deadline or self._state.expires_at)
