"""The web store's cart (Cart workflow): id, names, payloads and the client helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import WorkflowClosed, search_attributes, update_with_start
from contracts.errors import decode
from domain.errors import Conflict

CartStatus = Literal["open", "checked_out", "expired"]
CART_WORKFLOW = "Cart"
CHANGE_UPDATE = "change"  # set one line's quantity (holds stock for it)
CHECKOUT_UPDATE = "checkout"  # freeze the cart for its order
SNAPSHOT_UPDATE = "snapshot"  # answer once the cart exists (used by update-with-start)
VIEW_QUERY = "view"
CART_TTL_S = 15 * 60
CART_MAX_LIFETIME_S = 2 * 60 * 60
CART_MAX_LINES = 50
CART_MAX_LINE_UNITS = 50
_CLOSED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS)


def cart_workflow_id(store_code: str, cart_id: str) -> str:
    """`cart:{web store}:{cart_id}`: a cart is reached only through the web store it belongs to."""
    return f"cart:{store_code}:{cart_id}"


@dataclass(frozen=True, kw_only=True)
class CartRequest:
    cart_id: str
    store_code: str
    store_id: int
    location_ids: tuple[int, ...]  # where this web store's stock is
    pickup_location_id: int | None = None
    ttl_s: int = CART_TTL_S  # each change holds the lines this long ...
    max_lifetime_s: int = CART_MAX_LIFETIME_S  # ... but never past this long after the cart opened
    max_lines: int = CART_MAX_LINES  # different products in the cart
    max_line_units: int = CART_MAX_LINE_UNITS  # units of one product
    # Opening refuses (429) when this many carts of the web store, or of this shopper, are open
    # (0 = no cap); `shopper` is a hash of the shopper's session, never the session itself.
    max_open_per_store: int = 0
    max_open_per_shopper: int = 0
    shopper: str = ""


@dataclass(frozen=True, kw_only=True)
class CartLineChange:
    sku: str
    quantity: int
    mode: str = "add"  # add (to what the cart holds) | set (exactly; 0 removes)


@dataclass(frozen=True, kw_only=True)
class CartLineOut:
    sku: str
    quantity: int
    location_code: str


@dataclass(frozen=True, kw_only=True)
class CartState:
    cart_id: str
    status: CartStatus  # open | checked_out | expired
    expires_at: datetime
    lines: tuple[CartLineOut, ...]
    pickup_location_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class CartOpen:
    request: CartRequest
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class CartLineSet:
    request: CartRequest
    sku: str
    quantity: int  # the target: what the cart should hold of this SKU (0 removes)
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class CartClose:
    cart_id: str
    status: CartStatus  # checked_out | expired


# ---- client side ------------------------------------------------------------------------------


async def open_cart(client: Client, req: CartRequest, task_queue: str) -> CartState:
    """Update-with-start a new cart; answers once the cart exists. A used cart id is never
    reused."""
    workflow_id = cart_workflow_id(req.store_code, req.cart_id)
    try:
        return await update_with_start(
            client,
            CART_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=SNAPSHOT_UPDATE,
            result_type=CartState,
            run_result_type=CartState,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search=search_attributes(store=req.store_code, channel="web", order=workflow_id),
        )
    except WorkflowClosed as err:
        raise Conflict(
            "This cart has expired or is closed; start a new one.", code="cart_closed"
        ) from err


async def steer_cart(
    client: Client, store_code: str, cart_id: str, change: CartLineChange | None
) -> CartState:
    """Change a line (change given) or check the cart out (None) of this web store's cart."""
    handle = client.get_workflow_handle(cart_workflow_id(store_code, cart_id))
    try:
        if change is None:
            return await handle.execute_update(CHECKOUT_UPDATE, result_type=CartState)
        return await handle.execute_update(CHANGE_UPDATE, change, result_type=CartState)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in _CLOSED:
            raise Conflict(
                "This cart has expired or is closed; start a new one.", code="cart_closed"
            ) from err
        raise
