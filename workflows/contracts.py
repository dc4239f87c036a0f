"""Task queues, workflow ids and the frozen payloads every workflow, activity and signal exchanges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class PaymentEvent:
    """A payment provider's event about one of the sale's intents (from a webhook)."""

    type: str
    intent_id: str


@dataclass(frozen=True)
class AddTenders:
    tenders: tuple[TenderIn, ...]


@dataclass(frozen=True)
class SaleLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: int
    net: int
    tax: int
    gross: int
    tax_code: str
    tax_rate_bp: int


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
class ReprintRequest:
    till_code: str
    order_number: str


def reprint_workflow_id(order_number: str, request_id: str) -> str:
    return f"reprint:{order_number}:{request_id}"
