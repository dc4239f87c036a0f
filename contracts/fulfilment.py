"""Fulfilment (Bopis, ShipFromStore): ids, names, updates, signals and every payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from contracts.common import FULFILMENT_TASK_QUEUE
from contracts.errors import decode
from domain.errors import Conflict, TemporarilyUnavailable

FulfilmentOutcome = Literal[
    "picked_up", "shipped", "rejected", "expired", "cancelled", "withdrawn", "failed"
]
# A board task's status (the CHECK constraint of fulfilment_tasks.status) and what it was closed
# with; a workflow's own result is a FulfilmentOutcome.
TaskStatus = Literal["open", "claimed", "done", "cancelled"]
TaskOutcome = Literal["picked", "short", "rejected", "packed", "shipped"]


def task_status(status: str) -> TaskStatus:
    """A fulfilment_tasks.status read from the database, checked against TaskStatus."""
    if status not in get_args(TaskStatus):
        raise ValueError(f"{status!r} is not a fulfilment task status.")
    return cast(TaskStatus, status)


FulfilmentPhase = Literal[
    "picking",
    "ready",
    "packing",
    "labelled",
    "shipped",
    "collected",
    "expired",
    "rejected",
    "withdrawn",
    "cancelled",
    "failed",
]
TASK_QUEUE = FULFILMENT_TASK_QUEUE
BOPIS_WORKFLOW, SHIP_WORKFLOW = "Bopis", "ShipFromStore"
# Updates staff (and customers, for `arrived`) send; each answers with the FulfilmentState.
CLAIM_UPDATE = "claim"
REPORT_PICKED_UPDATE = "report_picked"
REPORT_SHORTAGE_UPDATE = "report_shortage"
REJECT_UPDATE = "reject"
PACK_UPDATE = "pack"  # ShipFromStore
SHIP_UPDATE = "ship"  # ShipFromStore
HAND_OVER_UPDATE = "hand_over"  # Bopis
ARRIVED_UPDATE = "arrived"  # Bopis, curbside
EXTEND_UPDATE = "extend"  # Bopis, managers
# Signals from the parent OnlineOrder: lines moved to or from this location.
ADD_LINES_SIGNAL = "add_lines"
WITHDRAW_LINES_SIGNAL = "withdraw_lines"
STATUS_QUERY = "status"
LINES_QUERY = "lines"
_ENDED = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


def fulfilment_workflow_id(kind: str, order_workflow_id: str, location_code: str) -> str:
    """`bopis:{order}:{location}` or `ship:{order}:{location}`."""
    return f"{'bopis' if kind == BOPIS_WORKFLOW else 'ship'}:{order_workflow_id}:{location_code}"


@dataclass(frozen=True, kw_only=True)
class FulfilmentLine:
    sku: str
    quantity: int
    name: str = ""


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class FulfilmentLines:
    """Signals `add_lines` / `withdraw_lines`: the parent moved lines to or from this location."""

    lines: tuple[FulfilmentLine, ...]


@dataclass(frozen=True, kw_only=True)
class FulfilmentResult:
    """picked_up | shipped: done; rejected: the store cannot (re-route); expired | cancelled: give
    up; withdrawn: every line was moved elsewhere."""

    status: FulfilmentOutcome
    tracking_number: str = ""
    carrier: str = ""
    tracking_url: str = ""
    message: str = ""
    # rejected because of a shortage at pick time: the units the shelf did not have (on_hand was
    # corrected)
    short: tuple[FulfilmentLine, ...] = ()


PICK, PACK, SHIP, HANDOVER = "pick", "pack", "ship", "handover"


CODE_DIGITS = 6


def pickup_barcode(order_number: str, code: str) -> str:
    """What the ready-for-pickup message shows as a barcode: scanning it is as good as typing the
    code."""
    return f"PU:{order_number}:{code}"


@dataclass(frozen=True, kw_only=True)
class Staff:
    user_id: int
    name: str = ""
    role: str = "fulfilment"  # fulfilment | manager


@dataclass(frozen=True, kw_only=True)
class ClaimTask:
    task_id: int
    staff: Staff


@dataclass(frozen=True, kw_only=True)
class PickScan:
    barcode: str
    quantity: int = 1


@dataclass(frozen=True, kw_only=True)
class PickReport:
    task_id: int
    staff: Staff
    scans: tuple[PickScan, ...]


@dataclass(frozen=True, kw_only=True)
class ShortageReport:
    task_id: int
    staff: Staff
    missing: tuple[FulfilmentLine, ...]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Rejection:
    task_id: int
    staff: Staff
    reason: str


@dataclass(frozen=True, kw_only=True)
class PackReport:
    task_id: int
    staff: Staff
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int


@dataclass(frozen=True, kw_only=True)
class ShipReport:
    task_id: int
    staff: Staff


@dataclass(frozen=True, kw_only=True)
class HandOver:
    staff: Staff
    code: str = ""
    barcode: str = ""  # the pickup barcode scanned from the customer's message
    id_checked: bool = False  # a manager checked the customer's ID (forgotten or locked code)


@dataclass(frozen=True, kw_only=True)
class CurbsideArrival:
    code: str
    bay: str


@dataclass(frozen=True, kw_only=True)
class Extension:
    staff: Staff
    days: float
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ParcelOut:
    tracking_number: str
    carrier: str
    tracking_url: str
    label_path: str
    weight_g: int


@dataclass(frozen=True, kw_only=True)
class FulfilmentState:
    """Where a Bopis / ShipFromStore stands (the query, and every update's answer)."""

    workflow_id: str
    kind: str  # Bopis | ShipFromStore
    order_number: str
    location_code: str
    # picking | ready | collected | expired | packing | labelled | shipped | rejected | withdrawn |
    # cancelled
    phase: FulfilmentPhase
    lines: tuple[FulfilmentLine, ...]
    picked: tuple[FulfilmentLine, ...] = ()
    task_id: int = 0  # the task staff act on now
    task_kind: str = ""
    escalated: bool = False
    deadline: datetime | None = None
    reminded: bool = False
    extensions: int = 0
    wrong_codes: int = 0
    locked: bool = False
    curbside_bay: str = ""
    parcels: tuple[ParcelOut, ...] = ()
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class FulfilmentConfig:
    pick_sla_minutes: int = 120
    pickup_hold_days: float = 3.0
    pickup_reminder_hours: int = 24
    pickup_code_attempts: int = 5
    search_attributes: bool = True  # off on the time-skipping test server, which has none


@dataclass(frozen=True, kw_only=True)
class Setup:
    location_name: str
    location_address: str
    timezone: str
    hours: str  # the store's opening hours, for messages
    names: dict[str, str]  # sku -> display name
    pick_sla_s: int
    hold_days: float
    reminder_s: int
    code_attempts: int
    search_attributes: bool


@dataclass(frozen=True, kw_only=True)
class OpenTask:
    key: str
    kind: str
    workflow_id: str
    request: FulfilmentRequest
    lines: tuple[FulfilmentLine, ...]
    due_at: datetime
    detail: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class TaskRef:
    id: int
    kind: str
    due_at: datetime
    lines: tuple[FulfilmentLine, ...]
    status: TaskStatus = "open"


@dataclass(frozen=True, kw_only=True)
class ClaimCmd:
    task_id: int
    user_id: int
    at: datetime
    take_over: bool = False


@dataclass(frozen=True, kw_only=True)
class CloseTask:
    task_id: int
    outcome: TaskOutcome
    at: datetime
    user_id: int | None = None
    cancelled: bool = False
    detail: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class AmendTask:
    task_id: int
    lines: tuple[FulfilmentLine, ...] | None = None
    due_at: datetime | None = None
    curbside_bay: str | None = None
    arrived_at: datetime | None = None
    detail: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class CancelTasks:
    workflow_id: str
    outcome: str
    at: datetime | None = None  # None (a compensation pushed in advance): when it runs


@dataclass(frozen=True, kw_only=True)
class Escalation:
    task_id: int
    workflow_id: str
    location_code: str
    order_number: str
    at: datetime
    minutes: int


@dataclass(frozen=True, kw_only=True)
class ShortageCmd:
    workflow_id: str
    task_id: int
    location_id: int
    reference: str
    missing: tuple[FulfilmentLine, ...]
    at: datetime


@dataclass(frozen=True, kw_only=True)
class DeadlineRequest:
    location_id: int
    start: datetime
    days: float


@dataclass(frozen=True, kw_only=True)
class Deadline:
    at: datetime
    local: str  # e.g. "Mon 23 Nov 15:00" in the store's time


@dataclass(frozen=True, kw_only=True)
class HoldCmd:
    workflow_id: str
    reference: str  # the order's workflow id (its reservations' reference)
    location_id: int
    targets: dict[str, int]
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class ExtendCmd:
    reference: str
    location_id: int
    task_id: int
    deadline: datetime
    detail: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class HandOverCmd:
    workflow_id: str
    reference: str
    location_id: int
    task_id: int
    user_id: int
    at: datetime
    detail: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class ReleaseCmd:
    reference: str
    location_id: int
    sku: str = ""  # "" = every pickup hold of the order here
    quantity: int = 0  # with sku: give back up to this many


@dataclass(frozen=True, kw_only=True)
class BuyLabel:
    key: str  # `{workflow id}:parcel:{n}`: the carrier and the parcel table dedupe on it
    workflow_id: str
    location_id: int
    task_id: int
    order_number: str
    ship_from: str
    ship_to_name: str
    ship_to_country: str
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int


# ---- client side ------------------------------------------------------------------------------


def _unavailable() -> TemporarilyUnavailable:
    return TemporarilyUnavailable("The fulfilment service is not answering right now; try again.")


async def update_fulfilment(
    client: Client, workflow_id: str, name: str, arg: Any
) -> FulfilmentState:
    """Send one update to a fulfilment workflow; its refusals come back as DomainErrors."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(name, arg, result_type=FulfilmentState)
    except WorkflowUpdateFailedError as err:
        raise decode(err) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise _unavailable() from None
    except RPCError as err:
        if err.status in _ENDED:
            raise Conflict(
                "This order's fulfilment here has ended; reload the board.", code="fulfilment_ended"
            ) from None
        raise _unavailable() from err


async def query_fulfilment(client: Client, workflow_id: str) -> FulfilmentState | None:
    """The fulfilment's state, or None when its workflow has ended."""
    try:
        return await client.get_workflow_handle(workflow_id).query(
            STATUS_QUERY, result_type=FulfilmentState
        )
    except RPCError as err:
        if err.status in _ENDED:
            return None
        raise _unavailable() from err
