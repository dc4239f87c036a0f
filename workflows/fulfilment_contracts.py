"""Messages of the Bopis and ShipFromStore workflows: staff actions in, their state out (frozen payloads).

The parent's side of the contract (FulfilmentRequest, FulfilmentLines, FulfilmentResult) is in
workflows/contracts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.contracts import FulfilmentLine

PICK, PACK, SHIP, HANDOVER = "pick", "pack", "ship", "handover"
CODE_DIGITS = 6


def pickup_barcode(order_number: str, code: str) -> str:
    """What the ready-for-pickup message shows as a barcode: scanning it is as good as typing the code."""
    return f"PU:{order_number}:{code}"


@dataclass(frozen=True)
class Staff:
    user_id: int
    name: str = ""
    role: str = "fulfilment"  # fulfilment | manager


@dataclass(frozen=True)
class ClaimTask:
    task_id: int
    staff: Staff


@dataclass(frozen=True)
class PickScan:
    barcode: str
    quantity: int = 1


@dataclass(frozen=True)
class PickReport:
    task_id: int
    staff: Staff
    scans: tuple[PickScan, ...]


@dataclass(frozen=True)
class ShortageReport:
    task_id: int
    staff: Staff
    missing: tuple[FulfilmentLine, ...]
    note: str = ""


@dataclass(frozen=True)
class Rejection:
    task_id: int
    staff: Staff
    reason: str


@dataclass(frozen=True)
class PackReport:
    task_id: int
    staff: Staff
    weight_g: int
    length_cm: int
    width_cm: int
    height_cm: int


@dataclass(frozen=True)
class ShipReport:
    task_id: int
    staff: Staff


@dataclass(frozen=True)
class HandOver:
    staff: Staff
    code: str = ""
    barcode: str = ""  # the pickup barcode scanned from the customer's message
    id_checked: bool = False  # a manager checked the customer's ID (forgotten or locked code)


@dataclass(frozen=True)
class CurbsideArrival:
    code: str
    bay: str


@dataclass(frozen=True)
class Extension:
    staff: Staff
    days: float
    reason: str = ""


@dataclass(frozen=True)
class ParcelOut:
    tracking_number: str
    carrier: str
    tracking_url: str
    label_path: str
    weight_g: int


@dataclass(frozen=True)
class FulfilmentState:
    """Where a Bopis / ShipFromStore stands (the query, and every update's answer)."""

    workflow_id: str
    kind: str  # Bopis | ShipFromStore
    order_number: str
    location_code: str
    # picking | ready | collected | expired | packing | labelled | shipped | rejected | withdrawn | cancelled
    phase: str
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
