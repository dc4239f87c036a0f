"""The till's devices: the device task queue, receipts, print jobs and drawer kicks."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast, get_args

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.common import SALES_TASK_QUEUE

# Activities the till's device worker runs (on the till's own queue, never the central ones).
PRINT_RECEIPT_ACTIVITY = "print_receipt"
OPEN_DRAWER_ACTIVITY = "open_drawer"
SALE_DEVICES_ACTIVITY = "sale_devices"  # drawer (cash only), then the receipt, in one step
REPRINT_WORKFLOW = "Reprint"


def device_task_queue(till_code: str) -> str:
    """Each till's device worker polls its own queue, so receipts print on the right printer."""
    return f"devices:{till_code}"


@dataclass(frozen=True, kw_only=True)
class ReceiptDiscount:
    label: str  # the promotion's name and code
    amount: int  # minor units off the line


@dataclass(frozen=True, kw_only=True)
class ReceiptLine:
    name: str
    sku: str
    quantity: int
    unit_price: int
    line_total: int  # after its discounts
    tax_code: str
    discounts: tuple[ReceiptDiscount, ...] = ()  # the promotions that took something off it


@dataclass(frozen=True, kw_only=True)
class ReceiptTax:
    code: str
    rate_bp: int  # basis points: 2000 = 20 %
    net: int
    tax: int


@dataclass(frozen=True, kw_only=True)
class ReceiptTender:
    kind: str
    amount: int
    detail: str = ""  # e.g. "VISA ****4242"; never a card number


@dataclass(frozen=True, kw_only=True)
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
    # The fiscal signature (issue 20): its lines printed under the tenders, then its QR code.
    fiscal_lines: tuple[str, ...] = ()
    fiscal_qr: str = ""
    locale: str = ""  # the store's locale: how money is written (issue 19); "": 1234.50


@dataclass(frozen=True, kw_only=True)
class PrintJob:
    job_id: str  # idempotency: the device worker prints each job id once
    receipt: Receipt


@dataclass(frozen=True, kw_only=True)
class DrawerKick:
    job_id: str
    till_code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeviceResult:
    job_id: str
    done: bool
    detail: str = ""
    bytes_sent: int = 0


@dataclass(frozen=True, kw_only=True)
class SaleDevices:
    """Everything a finished sale asks of its till's devices, in one activity: the drawer first
    (cash only), then the receipt. Each job still reaches the device once."""

    receipt: PrintJob
    drawer: DrawerKick | None = None


@dataclass(frozen=True, kw_only=True)
class SaleDevicesResult:
    receipt: DeviceResult
    drawer: DeviceResult | None = None


@dataclass(frozen=True, kw_only=True)
class ReprintRequest:
    till_code: str
    order_number: str


def reprint_workflow_id(order_number: str, request_id: str) -> str:
    return f"reprint:{order_number}:{request_id}"


@dataclass(frozen=True, kw_only=True)
class ReceiptRequest:
    order_number: str
    reprint: bool = False


async def start_reprint(client: Client, req: ReprintRequest, request_id: str) -> str:
    """Queue a reprint on the till's printer, once per request id; returns its workflow id."""
    workflow_id = reprint_workflow_id(req.order_number, request_id)
    # Already started: the same request id: that reprint is already queued or done.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            REPRINT_WORKFLOW,
            req,
            id=workflow_id,
            task_queue=SALES_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return workflow_id


# ---- the till's devices as its record says (the device worker asks for them) -------------------

TILL_DEVICES_WORKFLOW = "TillDevices"
TILL_DEVICES_ACTIVITY = "till.devices"
TILL_DEVICES_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True)
class TillDevicesRequest:
    till_code: str


@dataclass(frozen=True, kw_only=True)
class TillDevices:
    """A till's device settings as stored by the back office (/admin/tills)."""

    till_code: str
    found: bool  # False: no such till
    active: bool = False
    printer_url: str = ""  # "" = none configured
    card_reader: str = "simulated"
    scanner: str = ""


def till_devices_workflow_id(till_code: str) -> str:
    return f"tilldevices:{till_code}"


async def fetch_till_devices(
    client: Client, till_code: str, *, task_queue: str = SALES_TASK_QUEUE
) -> TillDevices:
    """Read a till's device settings from the central record (one short workflow; concurrent
    asks of one till share it). Raises on an outage or after TILL_DEVICES_TIMEOUT."""
    handle = await client.start_workflow(
        TILL_DEVICES_WORKFLOW,
        TillDevicesRequest(till_code=till_code),
        id=till_devices_workflow_id(till_code),
        task_queue=task_queue,
        result_type=TillDevices,
        execution_timeout=TILL_DEVICES_TIMEOUT,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return await handle.result()


# ---- Z report of a shift (issue 15): printed on the till's printer like a receipt -------------

PRINT_Z_REPORT_ACTIVITY = "print_z_report"


@dataclass(frozen=True, kw_only=True)
class ZTenderLine:
    tender: str
    sales: int
    refunds: int
    expected: int
    counted: int
    variance: int


# A Z report's cash movements (domain/shifts.py movement_totals) and discount actions.
ZMovementKind = Literal[
    "float",
    "sale_cash",
    "change",
    "refund_cash",
    "paid_in",
    "paid_out",
    "drop",
    "discount",
    "price_override",
]


def z_movement_kind(kind: str) -> ZMovementKind:
    """A movement or discount kind of the shift figures, checked against ZMovementKind."""
    if kind not in get_args(ZMovementKind):
        raise ValueError(f"{kind!r} is not a Z report movement kind.")
    return cast(ZMovementKind, kind)


@dataclass(frozen=True, kw_only=True)
class ZMovement:
    kind: ZMovementKind
    amount: int


@dataclass(frozen=True, kw_only=True)
class ZReportDoc:
    """What the Z report of a closed shift says; stored as JSON and printed."""

    z_number: int
    shift_n: int
    till_code: str
    store_name: str
    store_address: str
    currency: str
    business_date: str  # the store's local date of the close, YYYY-MM-DD
    opened_at: datetime  # in the store's time
    closed_at: datetime
    cashiers: tuple[str, ...]
    sales_count: int
    sales_total: int
    returns_count: int
    taxes: tuple[ReceiptTax, ...]
    tenders: tuple[ZTenderLine, ...]
    movements: tuple[ZMovement, ...]
    no_sales: int
    float_amount: int
    left_in_drawer: int
    variance: int
    approved_by: str = ""
    approval_note: str = ""
    discounts: tuple[ZMovement, ...] = ()  # kind: discount | price_override; amount off
    discounted_sales: int = 0
    approved_overrides: int = 0  # adjustments a manager approved at the till
    voids_count: int = 0
    voids_total: int = 0
    locale: str = ""  # the store's locale: how money is written (issue 19); "": 1234.50
    # The closing's fiscal signature (issue 20: the TSE data of a German store's Z), printed last.
    fiscal_lines: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ZReportJob:
    job_id: str  # the shift's workflow id: printed once
    report: ZReportDoc


@dataclass(frozen=True, kw_only=True)
class ZReportPrinted:
    result: DeviceResult
    escpos_b64: str  # the bytes sent, base64, stored beside the report
