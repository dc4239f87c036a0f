"""Task queues, workflow ids and the frozen payloads every workflow, activity and signal exchanges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.pricing import PricedLine

SALES_TASK_QUEUE = "tillflow-sales"
CENTRAL_TASK_QUEUE = "tillflow-central"

# Search attributes registered on the Temporal namespace so ops can filter in the UI.
SA_STORE = "TillflowStore"
SA_TILL = "TillflowTill"
SA_CHANNEL = "TillflowChannel"
SA_ORDER = "TillflowOrder"
SEARCH_ATTRIBUTES = (SA_STORE, SA_TILL, SA_CHANNEL, SA_ORDER)


def device_task_queue(till_code: str) -> str:
    """Each till's device worker polls its own queue, so receipts print on the right printer."""
    return f"devices:{till_code}"


def sale_workflow_id(till_code: str, client_sale_id: str) -> str:
    return f"sale:{till_code}:{client_sale_id}"


# ---- sale --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasketLine:
    sku: str
    quantity: int
    # The price the customer was charged offline (from the till's snapshot); honoured on replay.
    unit_price: int | None = None


GIFT_CARD_SKU = "GIFT-CARD"


@dataclass(frozen=True)
class TenderIn:
    kind: str  # cash | card | gift_card | store_credit
    amount: int  # minor units handed over (cash) or asked of the card / balance
    reference: str = ""  # gift card code, or the customer id for store credit
    simulate: str = ""  # simulated reader only: the Stripe test payment method to "tap"


@dataclass(frozen=True)
class GiftCardLine:
    amount: int
    reload_code: str = ""  # top up this card instead of issuing a new one


@dataclass(frozen=True)
class SaleRequest:
    till_code: str
    client_sale_id: str
    cashier_id: int
    lines: tuple[BasketLine, ...]
    tenders: tuple[TenderIn, ...]
    sold_at: datetime | None = None  # original time of an offline sale; None = now
    offline: bool = False  # replayed from a till's offline journal
    gift_cards: tuple[GiftCardLine, ...] = ()  # gift cards sold (issued or reloaded)
    customer_id: int | None = None  # known customer (receipt look-up by email / phone later)


@dataclass(frozen=True)
class PaymentEvent:
    """A payment provider's event about one of the sale's intents (from a webhook)."""

    type: str
    intent_id: str


@dataclass(frozen=True)
class AddTenders:
    tenders: tuple[TenderIn, ...]


# A priced sale line is exactly what the pricing rules produce.
SaleLine = PricedLine


@dataclass(frozen=True)
class TenderOut:
    kind: str
    amount: int  # applied to the sale (cash: after change)
    tendered: int  # handed over
    reference: str = ""  # Stripe PaymentIntent id, gift card code, customer id
    card_brand: str = ""
    card_last4: str = ""


@dataclass(frozen=True)
class IssuedGiftCard:
    code: str
    amount: int
    balance: int


@dataclass(frozen=True)
class SaleResult:
    sale_id: str  # order number, printed as the receipt barcode ("" while open)
    workflow_id: str
    status: str  # completed | open (waiting for another tender) | abandoned
    currency: str
    lines: tuple[SaleLine, ...]
    subtotal: int
    tax_total: int
    total: int
    tenders: tuple[TenderOut, ...]
    change_due: int
    warnings: tuple[str, ...] = ()
    sold_at: datetime | None = None
    due: int = 0  # still to pay while open
    declines: tuple[str, ...] = ()  # why a tender was refused, newest last
    gift_cards: tuple[IssuedGiftCard, ...] = ()


@dataclass(frozen=True)
class SaleStatus:
    workflow_id: str
    step: str
    settled: bool
    compensating: bool
    receipt_printed: bool
    drawer_opened: bool
    error: str = ""
    due: int = 0


# ---- devices ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    sku: str
    quantity: int
    unit_price: int
    line_total: int
    tax_code: str


@dataclass(frozen=True)
class ReceiptTax:
    code: str
    rate_bp: int  # basis points: 2000 = 20 %
    net: int
    tax: int


@dataclass(frozen=True)
class ReceiptTender:
    kind: str
    amount: int
    detail: str = ""  # e.g. "VISA ****4242"; never a card number


@dataclass(frozen=True)
class Receipt:
    sale_id: str
    store_name: str
    store_address: str
    till_code: str
    cashier_name: str
    sold_at: datetime
    currency: str
    lines: tuple[ReceiptLine, ...]
    taxes: tuple[ReceiptTax, ...]
    subtotal: int
    tax_total: int
    total: int
    tenders: tuple[ReceiptTender, ...]
    change_due: int
    prices_include_tax: bool = True
    footer: str = "Thank you for shopping with us"
    reprint: bool = False
    notes: tuple[str, ...] = ()  # e.g. gift cards issued, printed above the footer


@dataclass(frozen=True)
class PrintJob:
    job_id: str  # idempotency: the device worker prints each job id once
    receipt: Receipt


@dataclass(frozen=True)
class DrawerKick:
    job_id: str
    till_code: str
    reason: str


@dataclass(frozen=True)
class DeviceResult:
    job_id: str
    done: bool
    detail: str = ""
    bytes_sent: int = 0


@dataclass(frozen=True)
class SaleDevices:
    """Everything a finished sale asks of its till's devices, in one activity: the drawer first
    (cash only), then the receipt. Each job still reaches the device once."""

    receipt: PrintJob
    drawer: DrawerKick | None = None


@dataclass(frozen=True)
class SaleDevicesResult:
    receipt: DeviceResult
    drawer: DeviceResult | None = None


@dataclass(frozen=True)
class ReprintRequest:
    till_code: str
    order_number: str


def reprint_workflow_id(order_number: str, request_id: str) -> str:
    return f"reprint:{order_number}:{request_id}"


# ---- returns -------------------------------------------------------------------------------


def return_workflow_id(return_id: str) -> str:
    return f"return:{return_id}"


@dataclass(frozen=True)
class ReturnLineIn:
    quantity: int
    disposition: str  # restock | quarantine | damaged
    line_no: int = 0  # the sale's line (with a receipt)
    sku: str = ""  # without a receipt
    reason: str = ""
    serial: str = ""


@dataclass(frozen=True)
class ExchangeIn:
    """The new goods taken in exchange, and tenders for any difference the customer pays."""

    lines: tuple[BasketLine, ...]
    tenders: tuple[TenderIn, ...] = ()


@dataclass(frozen=True)
class ReturnRequest:
    return_id: str
    till_code: str
    cashier_id: int
    sale_number: str  # "" = no receipt
    lines: tuple[ReturnLineIn, ...]
    refund_method: str = "original"  # original | store_credit
    customer_id: int | None = None
    exchange: ExchangeIn | None = None
    approval_timeout_s: int = 1800


@dataclass(frozen=True)
class ApprovalDecision:
    approved: bool
    manager_id: int
    note: str = ""


@dataclass(frozen=True)
class RefundLineOut:
    kind: str
    amount: int


@dataclass(frozen=True)
class ReturnResult:
    return_id: str
    workflow_id: str
    till_code: str
    status: str  # completed | awaiting_approval | rejected
    currency: str
    refund_total: int
    refund_method: str
    refunds: tuple[RefundLineOut, ...] = ()
    cash_out: int = 0
    store_credit: int = 0
    exchange_credit: int = 0
    exchange_sale_workflow_id: str = ""
    approval_reasons: tuple[str, ...] = ()
    message: str = ""


# ---- online orders and their fulfilment (web-store link) -----------------------------------

WEB_TASK_QUEUE = "tillflow-web"  # OnlineOrder, Cart, StockSync and their activities
FULFILMENT_TASK_QUEUE = "tillflow-fulfilment"  # Bopis and ShipFromStore (the fulfilment worker)
BOPIS_WORKFLOW, SHIP_WORKFLOW = "Bopis", "ShipFromStore"


def online_order_workflow_id(source: str, external_id: str, store: str = "") -> str:
    """`order:web:{cart}`, `order:shopify:{shop}:{id}`, `order:woocommerce:{store}:{id}`."""
    return f"order:{source}:{store}:{external_id}" if store else f"order:{source}:{external_id}"


def fulfilment_workflow_id(kind: str, order_workflow_id: str, location_code: str) -> str:
    """`bopis:{order}:{location}` or `ship:{order}:{location}`."""
    return f"{'bopis' if kind == BOPIS_WORKFLOW else 'ship'}:{order_workflow_id}:{location_code}"


@dataclass(frozen=True)
class StockTaken:
    """A till sold units an online order held: the order re-sources them (signal `stock_taken`)."""

    order_workflow_id: str
    location_id: int
    sku: str
    quantity: int
    sale_workflow_id: str = ""


@dataclass(frozen=True)
class FulfilmentLine:
    sku: str
    quantity: int
    name: str = ""


@dataclass(frozen=True)
class FulfilmentRequest:
    """Input of a Bopis / ShipFromStore child: what one location picks for an online order.

    The units are reserved (kind 'order', reference = the order's workflow id) at the location;
    the parent consumes the reservation when the child reports success.
    """

    order_workflow_id: str
    order_number: str
    location_id: int
    location_code: str
    lines: tuple[FulfilmentLine, ...]
    customer_name: str = ""
    email: str = ""
    country: str = ""


@dataclass(frozen=True)
class FulfilmentLines:
    """Signals `add_lines` / `withdraw_lines`: the parent moved lines to or from this location."""

    lines: tuple[FulfilmentLine, ...]


@dataclass(frozen=True)
class FulfilmentResult:
    """picked_up | shipped: done; rejected: the store cannot (re-route); expired | cancelled: give up;
    withdrawn: every line was moved elsewhere."""

    status: str
    tracking_number: str = ""
    carrier: str = ""
    tracking_url: str = ""
    message: str = ""
    # rejected because of a shortage at pick time: the units the shelf did not have (on_hand was corrected)
    short: tuple[FulfilmentLine, ...] = ()
