"""Payloads of the web-store link's workflows: OnlineOrder, Cart, StockSync (frozen, one in, one out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.online_orders import ExternalOrder

CART_TTL_S = 15 * 60
PAYMENT_TIMEOUT_S = 30 * 60


def cart_workflow_id(cart_id: str) -> str:
    return f"cart:{cart_id}"


STOCK_SYNC_WORKFLOW_ID = "stocksync"
RESYNC_SCHEDULE_ID = "stock-resync"


# ---- OnlineOrder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineOrderRequest:
    source: str  # web | shopify | woocommerce
    store_code: str
    order: ExternalOrder
    version_us: int = 0  # when the web store produced this state (orders never go back in time)
    cart_id: str = ""  # storefront checkout: the cart whose reservations the order takes over
    payment_method: str = (
        ""  # Stripe test mode only: confirm the PaymentIntent at once with this pm_…
    )
    payment_timeout_s: int = PAYMENT_TIMEOUT_S
    allow_split: bool = True
    stores_first: bool = True


@dataclass(frozen=True)
class WebStoreEvent:
    """A later delivery about the order (orders/updated, orders/cancelled, WooCommerce order.updated)."""

    topic: str
    version_us: int
    cancelled: bool
    financial_status: str = ""
    status: str = ""


@dataclass(frozen=True)
class PlacedLine:
    location_id: int
    location_code: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class CheckoutAnswer:
    workflow_id: str
    order_number: str
    status: str  # awaiting_payment | accepted | fulfilling | completed | cancelled | exception
    currency: str
    total: int
    payment_intent: str = ""
    client_secret: str = ""  # for Stripe.js on the storefront: confirm the card there
    payment_status: str = ""
    lines: tuple[PlacedLine, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class OrderState:
    workflow_id: str
    status: str
    order_number: str
    lines: tuple[PlacedLine, ...]
    version_us: int
    compensating: bool
    message: str = ""
    children: tuple[str, ...] = ()


# ---- Cart ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartRequest:
    cart_id: str
    store_code: str
    store_id: int
    location_ids: tuple[int, ...]  # where this web store's stock is
    pickup_location_id: int | None = None
    ttl_s: int = CART_TTL_S


@dataclass(frozen=True)
class CartLineChange:
    sku: str
    quantity: int
    mode: str = "add"  # add (to what the cart holds) | set (exactly; 0 removes)


@dataclass(frozen=True)
class CartLineOut:
    sku: str
    quantity: int
    location_code: str


@dataclass(frozen=True)
class CartState:
    cart_id: str
    status: str  # open | checked_out | expired
    expires_at: datetime
    lines: tuple[CartLineOut, ...]
    pickup_location_id: int | None = None


# ---- StockSync ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockSyncRequest:
    debounce_ms: int = 500
    max_delay_ms: int = 5000
    poll_ms: int = 200
    rounds_before_new_run: int = 200


@dataclass(frozen=True)
class ResyncRequest:
    refresh_listings: bool = True
