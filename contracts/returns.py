"""Returns and refunds: the Return workflow's id, names and payloads, and the refund activities'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import SALES_TASK_QUEUE, WorkflowClosed, search_attributes, update_with_start
from contracts.errors import decode
from contracts.fiscal import FiscalScheme
from contracts.sale import BasketLine, TenderIn
from domain.errors import Conflict, NotFound

Disposition = Literal["restock", "quarantine", "damaged"]
ReturnStatus = Literal["completed", "awaiting_approval", "rejected", "processing"]
TASK_QUEUE = SALES_TASK_QUEUE
RETURN_WORKFLOW = "Return"
SUBMIT_UPDATE = "submit"  # answer the till: done, rejected, or waiting for a manager
DECIDE_UPDATE = "decide"  # a manager approves or rejects
STATUS_QUERY = "status"


def return_workflow_id(store: str, return_id: str) -> str:
    """`return:{store}:{return_id}`: a return id is the till's own name, so it is scoped by the
    store that named it (another store's same id never reaches this return)."""
    return f"return:{store}:{return_id}"


@dataclass(frozen=True, kw_only=True)
class ReturnLineIn:
    quantity: int
    disposition: Disposition  # restock | quarantine | damaged
    line_no: int = 0  # the sale's line (with a receipt)
    sku: str = ""  # without a receipt
    reason: str = ""
    serial: str = ""


@dataclass(frozen=True, kw_only=True)
class ExchangeIn:
    """The new goods taken in exchange, and tenders for any difference the customer pays."""

    lines: tuple[BasketLine, ...]
    tenders: tuple[TenderIn, ...] = ()


@dataclass(frozen=True, kw_only=True)
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
    # A manager vouched at the till before it started (a void): no waiting for a decision.
    approved_by: int | None = None
    void: bool = False  # the whole sale, same day, same till, tenders back as taken
    # The store's approval table: a return without a receipt needs a manager from this cashier.
    receiptless_needs_manager: bool = False


@dataclass(frozen=True, kw_only=True)
class ApprovalDecision:
    approved: bool
    manager_id: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RefundLineOut:
    kind: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class ReturnResult:
    return_id: str
    workflow_id: str
    till_code: str
    status: ReturnStatus  # completed | awaiting_approval | rejected
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


@dataclass(frozen=True, kw_only=True)
class RefundRequest:
    sale_workflow_id: str  # the sale (or order) whose tenders are refunded
    amount: int
    key: str  # business id of the refund, e.g. "return:R-17"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RefundedPart:
    kind: str
    payment_id: int
    amount: int
    provider_ref: str


@dataclass(frozen=True, kw_only=True)
class RefundOutcome:
    parts: tuple[RefundedPart, ...]
    cash_out: int  # to hand back from the drawer


@dataclass(frozen=True, kw_only=True)
class AssessedLine:
    line_no: int
    order_line_no: int | None
    sku: str
    name: str
    quantity: int
    refund_amount: int
    disposition: Disposition
    reason: str
    serial: str


@dataclass(frozen=True, kw_only=True)
class ReturnAssessment:
    currency: str
    location_id: int
    till_id: int
    order_id: int | None
    sale_workflow_id: str
    lines: tuple[AssessedLine, ...]
    refund_total: int
    refund_method: str
    approval_reasons: tuple[str, ...]
    fraud_signal: str = ""
    channel: str = "store"  # where it was bought: store | web | shopify | woocommerce
    web_store: str = ""  # the web store's code, for orders from Shopify / WooCommerce
    web_order_id: str = ""  # the order's id in that web store
    # The location's fiscal signing scheme (issue 20): "none" runs no signing step at all.
    fiscal_scheme: FiscalScheme = "none"


@dataclass(frozen=True, kw_only=True)
class ReturnClaim:
    workflow_id: str
    request: ReturnRequest
    assessment: ReturnAssessment
    approved_by: int | None


@dataclass(frozen=True, kw_only=True)
class DisposeCmd:
    workflow_id: str
    return_id: str
    location_id: int
    lines: tuple[AssessedLine, ...]


@dataclass(frozen=True, kw_only=True)
class CreditCmd:
    return_id: str
    customer_id: int
    amount: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class CompleteCmd:
    return_id: str
    status: Literal["completed", "rejected"]  # completed | rejected
    fraud_signal: str = ""
    customer_id: int | None = None
    exchange_workflow_id: str = ""


# ---- client side ------------------------------------------------------------------------------


async def submit_return(client: Client, req: ReturnRequest, *, store: str) -> ReturnResult:
    """Update-with-start the return: the same return id always means the same return (a running
    one is joined, a failed one may be tried again, a closed one answers with how it ended)."""
    workflow_id = return_workflow_id(store, req.return_id)
    try:
        return await update_with_start(
            client,
            RETURN_WORKFLOW,
            req,
            workflow_id=workflow_id,
            task_queue=TASK_QUEUE,
            update=SUBMIT_UPDATE,
            result_type=ReturnResult,
            run_result_type=ReturnResult,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search=search_attributes(
                store=store, till=req.till_code, channel="store", order=workflow_id
            ),
        )
    except WorkflowClosed:
        return await return_status(client, store, req.return_id)


async def return_status(client: Client, store: str, return_id: str) -> ReturnResult:
    """Where a return of this store is (404 when the store has none by this id)."""
    try:
        return await client.get_workflow_handle(return_workflow_id(store, return_id)).query(
            STATUS_QUERY, result_type=ReturnResult
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"There is no return {return_id}.") from err
        raise


async def decide_return(
    client: Client, store: str, return_id: str, decision: ApprovalDecision, closed: Conflict
) -> ReturnResult:
    """A manager's decision on a return waiting for approval; `closed` if it no longer waits."""
    handle = client.get_workflow_handle(return_workflow_id(store, return_id))
    try:
        return await handle.execute_update(DECIDE_UPDATE, decision, result_type=ReturnResult)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise closed from err  # decided (and finished) a moment ago
        raise
