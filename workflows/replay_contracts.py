"""Payloads of the OfflineReplay workflow: a till's journal entries in, what became of each one out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def replay_workflow_id(till_code: str, batch_id: str) -> str:
    return f"replay:{till_code}:{batch_id}"


@dataclass(frozen=True)
class JournalLine:
    sku: str
    quantity: int
    unit_price: int  # what the till charged, from its snapshot


@dataclass(frozen=True)
class JournalTender:
    kind: str  # cash | card (gift cards and store credit are never taken offline)
    amount: int  # applied to the sale
    tendered: int = 0  # cash handed over
    # Card only, from the terminal: its token for the stored payment, brand, last four digits.
    reference: str = ""
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True)
class JournalEntry:
    client_sale_id: str
    sold_at: datetime
    cashier: str  # username of who rang it up
    lines: tuple[JournalLine, ...]
    tenders: tuple[JournalTender, ...]
    total: int
    change_due: int = 0


@dataclass(frozen=True)
class ReplayRequest:
    till_code: str
    batch_id: str
    uploaded_by: int  # user id; stands in for a cashier the central system does not know
    entries: tuple[JournalEntry, ...]


@dataclass(frozen=True)
class ReplayEntryResult:
    client_sale_id: str
    status: str  # applied | flagged (kept for a manager) | pending (try again later)
    sale_id: str = ""  # order number once applied
    message: str = ""
    variances: int = 0  # lines flagged short


@dataclass(frozen=True)
class ReplayResult:
    till_code: str
    batch_id: str
    entries: tuple[ReplayEntryResult, ...]
