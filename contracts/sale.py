"""The till sale: its workflow id, names, every workflow and activity payload, and its start
helper."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.approvals import APPROVE_UPDATE, Approval
from contracts.common import SALES_TASK_QUEUE, WorkflowClosed, search_attributes, update_with_start
from contracts.devices import Receipt
from contracts.errors import decode
from contracts.fiscal import FiscalScheme
from contracts.online import StockTaken
from contracts.promotions import LinePromotion, PromotionPin, PromotionTake
from domain.errors import Conflict, NotFound
from domain.pricing import GIFT_CARD_SKU as GIFT_CARD_SKU  # re-exported: the sale names it
from domain.pricing import PricedLine
from domain.tenders import CASH, TenderKind

SaleOutcome = Literal["completed", "open", "abandoned", "failed"]
SaleStep = Literal[
    "started",
    "pricing",
    "stock",
    "approval",  # waiting for a manager's approval of a discount / price override
    "tendering",
    "open",
    "settling",
    "compensating",
    "completed",
    "abandoned",
    "failed",
]
TASK_QUEUE = SALES_TASK_QUEUE
SALE_WORKFLOW = "Sale"
CHECKOUT_UPDATE = "checkout"  # answer the till: paid, or open with what is still due
ADD_TENDERS_UPDATE = "add_tenders"
ABANDON_UPDATE = "abandon"
PAYMENT_EVENT_SIGNAL = "payment_event"
STATUS_QUERY = "status"


def sale_workflow_id(till_code: str, client_sale_id: str) -> str:
    return f"sale:{till_code}:{client_sale_id}"


@dataclass(frozen=True, kw_only=True)
class BasketLine:
    """A SKU and how many: the price always comes from the catalogue (for an offline sale, the
    catalogue as of its time), never from the client."""

    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class PriceChange:
    """A discount or price override the cashier asks for (domain/discounts.py): the server works
    out what it takes off, and whether it needs a manager."""

    scope: Literal["line", "basket"]
    kind: Literal["percent", "amount", "price"]
    value: int  # basis points (percent), minor units off (amount), new unit price (price)
    reason: str  # a reason code (domain.discounts.REASONS)
    line: int | None = None  # the basket line (1-based) of a line adjustment


@dataclass(frozen=True, kw_only=True)
class AppliedChange:
    """A PriceChange as priced: what it took off and the share of its base (the limit's test)."""

    scope: Literal["line", "basket"]
    kind: Literal["percent", "amount", "price"]
    value: int
    reason: str
    line: int | None
    amount: int
    share_bp: int
    action: str  # discount | price_override (the approval table's action)
    needs_manager: bool


@dataclass(frozen=True, kw_only=True)
class TenderIn:
    kind: TenderKind  # cash | card | gift_card | store_credit
    amount: int  # minor units handed over (cash) or asked of the card / balance
    reference: str = ""  # gift card code, or the customer id for store credit
    simulate: str = ""  # simulated reader only: the Stripe test payment method to "tap"
    # Store credit: how the API saw the customer is present, never the secret itself:
    # "customer:{sha256 of the card code}" or "manager:{user id}" (who approved with a PIN).
    proof: str = ""


@dataclass(frozen=True, kw_only=True)
class GiftCardLine:
    amount: int
    reload_code: str = ""  # top up this card instead of issuing a new one


@dataclass(frozen=True, kw_only=True)
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
    adjustments: tuple[PriceChange, ...] = ()  # discounts and price overrides asked for
    basket_started_at: datetime | None = None  # the till's first scan (checkout time KPI)
    coupon_codes: tuple[str, ...] = ()  # coupons the customer handed over
    # The promotions it is priced with, pinned when it started (None: as they are when priced;
    # an offline sale is always priced with the promotions of the time the till sold it).
    promotions: PromotionPin | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentEvent:
    """A payment provider's event about one of the sale's intents (from a webhook)."""

    type: str
    intent_id: str


@dataclass(frozen=True, kw_only=True)
class AddTenders:
    tenders: tuple[TenderIn, ...]


# A priced sale line is exactly what the pricing rules produce.
SaleLine = PricedLine


@dataclass(frozen=True, kw_only=True)
class TenderOut:
    kind: TenderKind
    amount: int  # applied to the sale (cash: after change)
    tendered: int  # handed over
    reference: str = ""  # Stripe PaymentIntent id, gift card code, customer id
    card_brand: str = ""
    card_last4: str = ""
    card_wallet: str = ""  # apple_pay, google_pay … as Stripe's charge says (issue 19)


@dataclass(frozen=True, kw_only=True)
class IssuedGiftCard:
    code: str
    amount: int
    balance: int


@dataclass(frozen=True, kw_only=True)
class SaleResult:
    sale_id: str  # order number, printed as the receipt barcode ("" while open)
    workflow_id: str
    status: SaleOutcome  # completed | open (waiting for another tender) | abandoned
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
    # Open and waiting for a manager's staff code + PIN at the till: why (empty once approved).
    approval_needed: tuple[str, ...] = ()
    discount_total: int = 0  # off the catalogue prices by the sale's adjustments
    approved_by: str = ""  # the manager who approved them
    promotions: tuple[LinePromotion, ...] = ()  # what each promotion took off each line
    promotion_total: int = 0  # off the catalogue prices by promotions (before adjustments)
    # The fiscal signature's status once the sale ended (issue 20): signed | pending |
    # not_required; "" when the location signs nothing.
    fiscal_status: str = ""


@dataclass(frozen=True, kw_only=True)
class SaleStatus:
    workflow_id: str
    step: SaleStep
    settled: bool
    compensating: bool
    receipt_printed: bool
    drawer_opened: bool
    error: str = ""
    due: int = 0


@dataclass(frozen=True, kw_only=True)
class CashCheckout:
    workflow_id: str
    request: SaleRequest
    sold_at: datetime


@dataclass(frozen=True, kw_only=True)
class CashOutcome:
    priced: PricedSale
    # None: the cash does not settle the sale on its own; nothing was written and the
    # workflow goes on step by step from `priced`.
    recorded: RecordedOrder | None = None
    stock: StockOutcome = field(default_factory=lambda: StockOutcome(warnings=()))
    tenders: tuple[TenderOut, ...] = ()
    change_due: int = 0


@dataclass(frozen=True, kw_only=True)
class PricedSale:
    till_id: int
    location_id: int
    location_code: str
    currency: str
    prices_include_tax: bool
    lines: tuple[SaleLine, ...]
    stock_lines: tuple[SaleLine, ...]  # the lines that move stock (not gift cards)
    subtotal: int
    tax_total: int
    total: int
    adjustments: tuple[AppliedChange, ...] = ()
    approval_needed: tuple[str, ...] = ()  # over the cashier's limits: a manager must approve
    shift_id: int | None = None  # the till's shift the sale belongs to
    promotions: tuple[LinePromotion, ...] = ()  # what each promotion took off each line
    promotion_takes: tuple[PromotionTake, ...] = ()  # budgets and coupons it reserves
    promotion_total: int = 0
    # The location's fiscal signing scheme (issue 20): "none" runs no signing step at all.
    fiscal_scheme: FiscalScheme = "none"


@dataclass(frozen=True, kw_only=True)
class SaleApprovalRecord:
    """A manager approved a sale's adjustments at the till: the audit row's facts."""

    workflow_id: str
    till_code: str
    location_id: int
    cashier_id: int
    manager_user_id: int
    note: str
    adjustments: tuple[AppliedChange, ...]


@dataclass(frozen=True, kw_only=True)
class StockCommit:
    workflow_id: str
    location_id: int
    reference: str
    lines: tuple[SaleLine, ...]
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class StockOutcome:
    warnings: tuple[str, ...]
    # Online orders whose held units this sale took: the Sale tells each to re-source (web-store
    # link).
    taken_from_orders: tuple[StockTaken, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StockRestore:
    workflow_id: str
    location_id: int
    occurred_at: datetime


@dataclass(frozen=True, kw_only=True)
class OrderRecord:
    workflow_id: str
    till_code: str
    priced: PricedSale
    cashier_id: int
    tenders: tuple[TenderOut, ...]
    change_due: int
    warnings: tuple[str, ...]
    placed_at: datetime
    customer_id: int | None = None
    approved_by: int | None = None  # the manager who approved the adjustments
    basket_started_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordedOrder:
    number: str
    receipt: Receipt  # built in the same transaction, so printing needs no further step
    warnings: tuple[str, ...] = ()  # as stored with the order (a repeated run gets the first run's)


@dataclass(frozen=True, kw_only=True)
class GiftCardIssue:
    workflow_id: str
    currency: str
    amounts: tuple[int, ...]
    reload_codes: tuple[str, ...]  # "" where a new card is issued


@dataclass(frozen=True, kw_only=True)
class TenderAttempt:
    workflow_id: str
    number: int  # position of the tender within the sale: part of its idempotency key
    kind: TenderKind
    amount: int  # applied to the sale
    tendered: int  # handed over (cash)
    currency: str
    till_code: str
    till_id: int
    location_id: int
    reference: str = ""  # gift card code / customer id
    simulate: str = ""
    proof: str = ""  # store credit: as TenderIn.proof


@dataclass(frozen=True, kw_only=True)
class TenderResult:
    approved: bool
    message: str = ""
    reference: str = ""
    card_brand: str = ""
    card_last4: str = ""
    card_wallet: str = ""  # from Stripe's charge only (issue 19)


@dataclass(frozen=True, kw_only=True)
class SaleMoney:
    workflow_id: str


def settles_in_cash(req: SaleRequest) -> bool:
    """Whether a sale may take the one-transaction path: cash only, live at the till, no gift
    cards."""
    return (
        bool(req.tenders)
        and not req.offline
        and not req.gift_cards
        and all(t.kind == CASH for t in req.tenders)
    )


# ---- client side: how the API starts and steers a sale ---------------------------------------


async def checkout_sale(client: Client, req: SaleRequest, *, store: str) -> SaleResult:
    """Start the sale (or join the running one with the same client id) and wait for its answer.

    Id policy: a running sale is joined; a failed (refused) one may be tried again with the same
    client id; a completed one is closed (409 `sale_closed`: the database has its answer)."""
    workflow_id = sale_workflow_id(req.till_code, req.client_sale_id)
    try:
        return await update_with_start(
            client,
            SALE_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=TASK_QUEUE,
            update=CHECKOUT_UPDATE,
            result_type=SaleResult,
            run_result_type=SaleResult,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search=search_attributes(
                store=store, till=req.till_code, channel="store", order=workflow_id
            ),
        )
    except WorkflowClosed as err:
        raise Conflict("This sale is already closed.", code="sale_closed") from err


async def steer_sale(client: Client, workflow_id: str, more: AddTenders | None) -> SaleResult:
    """Add tenders to an open sale (`more` given) or abandon it (`more` None)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        if more is None:
            return await handle.execute_update(ABANDON_UPDATE, result_type=SaleResult)
        return await handle.execute_update(ADD_TENDERS_UPDATE, more, result_type=SaleResult)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise NotFound("There is no open sale with this id at this till.") from err
        raise


async def approve_sale(client: Client, workflow_id: str, approval: Approval) -> SaleResult:
    """A manager's decision on the sale's adjustments, given at the cashier's till."""
    try:
        return await client.get_workflow_handle(workflow_id).execute_update(
            APPROVE_UPDATE, approval, result_type=SaleResult
        )
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise NotFound("There is no open sale with this id at this till.") from err
        raise


async def signal_payment_event(client: Client, workflow_id: str, event: PaymentEvent) -> None:
    """Tell a sale about a payment provider's event on one of its intents."""
    await client.get_workflow_handle(workflow_id).signal(PAYMENT_EVENT_SIGNAL, event)


async def sale_answer(client: Client, workflow_id: str) -> SaleResult:
    """The sale's current answer (paid, or open with what is still due); a sale that has ended
    answers with its result."""
    handle = client.get_workflow_handle(workflow_id, result_type=SaleResult)
    try:
        return await handle.execute_update(CHECKOUT_UPDATE, result_type=SaleResult)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        raise decode(err) from None
