"""Online orders (OnlineOrder): ids, names, every workflow and activity payload, client helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import (
    CENTRAL_TASK_QUEUE,
    FULFILMENT_TASK_QUEUE,
    WEB_TASK_QUEUE,
    WorkflowClosed,
    search_attributes,
    update_with_start,
)
from domain import routing
from domain.errors import Conflict
from domain.online_orders import ExternalOrder

OrderStatus = Literal[
    "received",
    "accepted",
    "awaiting_payment",
    "fulfilling",
    "exception",
    "completed",
    "cancelled",
    "failed",
]
TASK_QUEUE = WEB_TASK_QUEUE
ONLINE_ORDER_WORKFLOW = "OnlineOrder"
CHECKOUT_UPDATE = "checkout"  # the storefront's answer: order, holds, the intent's client secret
WEB_STORE_EVENT_SIGNAL = "web_store_event"  # a later delivery from the web store
STOCK_TAKEN_SIGNAL = "stock_taken"  # a till sold units the order held (sent by the Sale)
PAYMENT_EVENT_SIGNAL = "payment_event"  # Stripe told us about the intent (as the Sale's)
RETRY_SIGNAL = "retry"  # a person fixed what kept the order in the exception queue
STATUS_QUERY = "status"
_CLOSED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.ALREADY_EXISTS)


def online_order_workflow_id(source: str, external_id: str, store: str = "") -> str:
    """`order:web:{cart}`, `order:shopify:{shop}:{id}`, `order:woocommerce:{store}:{id}`."""
    return f"order:{source}:{store}:{external_id}" if store else f"order:{source}:{external_id}"


@dataclass(frozen=True, kw_only=True)
class StockTaken:
    """A till sold units an online order held: the order re-sources them (signal `stock_taken`)."""

    order_workflow_id: str
    location_id: int
    sku: str
    quantity: int
    sale_workflow_id: str = ""


PAYMENT_TIMEOUT_S = 30 * 60


@dataclass(frozen=True, kw_only=True)
class PointsUse:
    """Storefront: loyalty points paying part (or all) of the order, taken before the card."""

    customer_id: int
    amount: int  # minor units the points pay for (converted at the loyalty rate, rounded up)
    proof: str  # "customer:{sha256 of their card code}": how the API saw it is their points


@dataclass(frozen=True, kw_only=True)
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
    # A pickup its store cannot fill is sent there from another location by a Transfer.
    ship_to_store: bool = False
    coupon_codes: tuple[str, ...] = ()  # storefront: the coupons the shopper entered
    # Storefront: the promotions it is priced with, pinned at checkout, as `pin_to_json` writes
    # them ("": as they are when accepted). JSON text rather than PromotionPin: the sandboxed
    # OnlineOrder decodes its input inside the sandbox, which only the accept activity reads.
    # Web store orders arrive priced by the web store: they never get ours.
    promotions: str = ""
    points: PointsUse | None = None  # storefront: points pay this much; the card the rest
    # Endless aisle (issue 19, source "store"): the till that sold it (priced at its store) and
    # the cash taken there, recorded as the order's payment when it is accepted.
    till_code: str = ""
    till_cash: tuple[int, ...] = ()  # minor units handed over, one per cash tender


@dataclass(frozen=True, kw_only=True)
class WebStoreEvent:
    """A later delivery about the order (orders/updated, orders/cancelled, WooCommerce
    order.updated)."""

    topic: str
    version_us: int
    cancelled: bool
    financial_status: str = ""
    status: str = ""


@dataclass(frozen=True, kw_only=True)
class PlacedLine:
    location_id: int
    location_code: str
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class CheckoutAnswer:
    workflow_id: str
    order_number: str
    status: (
        OrderStatus  # awaiting_payment | accepted | fulfilling | completed | cancelled | exception
    )
    currency: str
    total: int
    payment_intent: str = ""
    client_secret: str = ""  # for Stripe.js on the storefront: confirm the card there
    payment_status: str = ""
    lines: tuple[PlacedLine, ...] = ()
    message: str = ""
    points_paid: int = 0  # minor units paid with loyalty points (the card pays total - this)


@dataclass(frozen=True, kw_only=True)
class OrderState:
    workflow_id: str
    status: OrderStatus
    order_number: str
    lines: tuple[PlacedLine, ...]
    version_us: int
    compensating: bool
    message: str = ""
    children: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MappedLine:
    sku: str
    quantity: int
    name: str
    unit_price: int
    net: int
    tax: int
    gross: int
    tax_code: str
    tax_rate_bp: int
    external_line_id: str = ""
    discount: int = 0  # off the line's gross: the web store's discounts, or our promotions


@dataclass(frozen=True, kw_only=True)
class AcceptRequest:
    workflow_id: str
    request: OnlineOrderRequest
    placed_at: datetime
    retry: bool = (
        False  # mapped before and failed: entries it left in the exception queue get resolved
    )


@dataclass(frozen=True, kw_only=True)
class Accepted:
    ok: bool  # every line is ours and the pickup store exists: the order is recorded
    lines: tuple[MappedLine, ...]
    order_number: str
    currency: str
    total: int
    location_ids: tuple[int, ...]  # where this web store sells from
    pickup_location_id: int | None
    problems: tuple[str, ...] = ()
    fulfilment_queue: str = (
        FULFILMENT_TASK_QUEUE  # where this worker's Bopis / ShipFromStore children run
    )
    transfer_queue: str = CENTRAL_TASK_QUEUE  # where a ship-to-store Transfer child runs


@dataclass(frozen=True, kw_only=True)
class RouteRequest:
    workflow_id: str
    lines: tuple[MappedLine, ...]
    location_ids: tuple[int, ...]
    pickup_location_id: int | None
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    cart_id: str = ""
    allow_split: bool = True
    stores_first: bool = True
    exclude: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Routed:
    ok: bool
    lines: tuple[PlacedLine, ...]
    message: str = ""
    shortfalls: tuple[routing.Shortfall, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ShipToStorePlan:
    """A pickup its store cannot fill from the shelf: what it holds, and what comes by transfer
    from one other location (ok False: a transfer cannot make it either)."""

    ok: bool
    held: tuple[PlacedLine, ...] = ()
    source_location_id: int = 0
    source_code: str = ""
    destination_location_id: int = 0
    destination_code: str = ""
    transfer: tuple[tuple[str, int], ...] = ()  # (sku, quantity) from the source


@dataclass(frozen=True, kw_only=True)
class TransferLink:
    """The order's ship-to-store transfer, for its compensation."""

    order_workflow_id: str
    transfer_id: str


@dataclass(frozen=True, kw_only=True)
class ReserveRequest:
    workflow_id: str
    lines: tuple[PlacedLine, ...]
    cart_id: str = ""
    # The order's status once held, in the same transaction ("" = unchanged).
    status: OrderStatus | Literal[""] = ""


@dataclass(frozen=True, kw_only=True)
class OrderRef:
    workflow_id: str


@dataclass(frozen=True, kw_only=True)
class ResourceRequest:
    workflow_id: str
    location_id: int
    sku: str
    location_ids: tuple[int, ...]
    pickup: bool
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    stores_first: bool = True
    exclude: tuple[int, ...] = ()
    everything: bool = (
        False  # move the whole hold (the location rejected it), not just what a till took
    )


@dataclass(frozen=True, kw_only=True)
class Move:
    from_location_id: int
    from_location_code: str
    to_location_id: int
    to_location_code: str
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class Resourced:
    moves: tuple[Move, ...]
    short: int  # units that lost their goods and found no other location
    lines: tuple[PlacedLine, ...]  # what the order holds now


@dataclass(frozen=True, kw_only=True)
class ConsumeRequest:
    workflow_id: str
    location_id: int
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class StatusRequest:
    workflow_id: str
    status: OrderStatus
    warnings: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ExceptionRequest:
    workflow_id: str
    source: str
    store_code: str
    external_id: str
    kind: str
    reason: str
    sku: str = ""
    # JSON values; Any, not object: Temporal's converter cannot decode into `object`.
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PaymentRequest:
    workflow_id: str
    amount: int
    currency: str
    store_code: str
    payment_method: str = ""  # test mode: confirm at once with this Stripe test payment method
    points: PointsUse | None = None  # taken first; the PaymentIntent is for the rest


@dataclass(frozen=True, kw_only=True)
class PaymentState:
    intent_id: str
    status: str
    authorized: bool
    client_secret: str = ""
    message: str = ""
    points_amount: int = 0  # paid with loyalty points before the card


@dataclass(frozen=True, kw_only=True)
class PaymentCheck:
    workflow_id: str


@dataclass(frozen=True, kw_only=True)
class StatusNotice:
    store_code: str
    order_external_id: str
    status: str
    key: str
    tracking_number: str = ""
    carrier: str = ""
    tracking_url: str = ""


@dataclass(frozen=True, kw_only=True)
class StoreRefundRequest:
    store_code: str
    order_external_id: str
    amount: int
    currency: str
    key: str
    lines: tuple[RefundLine, ...] = ()
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class StoreRefundResult:
    refund_id: str
    amount: int
    created: bool


@dataclass(frozen=True, kw_only=True)
class RefundLine:
    line_id: str  # the web store's order line id
    quantity: int
    amount: int = 0  # minor units for this line; 0 = let the store work it out


# ---- client side ------------------------------------------------------------------------------


async def hand_over(
    client: Client, workflow_id: str, req: OnlineOrderRequest, event: WebStoreEvent, task_queue: str
) -> str:
    """Signal-with-start the order: a new order starts, a running one hears the event.

    Id policy: a finished order is never started again by a late delivery (REJECT_DUPLICATE).
    Returns "signalled", or "closed" when the order's workflow has ended."""
    try:
        await client.start_workflow(
            ONLINE_ORDER_WORKFLOW,
            req,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal=WEB_STORE_EVENT_SIGNAL,
            start_signal_args=[event],
            search_attributes=search_attributes(
                store=req.store_code, channel=req.source, order=workflow_id
            ),
        )
    except WorkflowAlreadyStartedError:
        return "closed"
    return "signalled"


async def checkout_order(
    client: Client, workflow_id: str, req: OnlineOrderRequest, task_queue: str
) -> CheckoutAnswer:
    """Update-with-start the order's `checkout`: a retry joins the same order; a failed one may
    be placed again; a placed one is closed (409 `order_closed`)."""
    try:
        return await update_with_start(
            client,
            ONLINE_ORDER_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=task_queue,
            update=CHECKOUT_UPDATE,
            result_type=CheckoutAnswer,
            run_result_type=OrderState,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search=search_attributes(store=req.store_code, channel="web", order=workflow_id),
        )
    except WorkflowClosed as err:
        raise Conflict(
            "This order has already been placed; see GET /storefront/orders.", code="order_closed"
        ) from err


async def signal_retry(client: Client, workflow_id: str) -> bool:
    """Ask an order in the exception queue to map and route again; False when it has ended."""
    try:
        await client.get_workflow_handle(workflow_id).signal(RETRY_SIGNAL)
    except RPCError as err:
        if err.status in _CLOSED:
            return False
        raise
    return True
