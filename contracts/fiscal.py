"""Fiscal signing (issue 20): the payloads every country's signer speaks, and the activity
payloads of the signing step of the Sale, Return and Shift workflows.

A till document (a sale's receipt, a return's refund slip, a shift's closing) is described once,
country-neutrally, as a `FiscalDocument`: its amounts per VAT rate and per tender, its lines, who
and when. The location's signer (`integrations/fiscal.py`, chosen by the location's fiscal unit)
turns it into a `FiscalSignature`: what the receipt must print (text lines and a QR code) and what
the audit must keep (`fields`). A location without a fiscal unit signs nothing and its workflows
run no signing step at all.

Money is in integer minor units of `currency`; VAT rates in basis points (19 % = 1900).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from contracts.common import upsert_schedule

# The signing scheme of a location's fiscal unit: "none" signs nothing; "de-fiskaly" is a cloud
# TSE (fiskaly SIGN DE, KassenSichV); "pt-at" is Portugal's certified-software signature
# (Portaria 363/2010: chained RSA signature, ATCUD, QR code).
FiscalScheme = Literal["none", "de-fiskaly", "pt-at"]
FiscalKind = Literal["sale", "return", "void", "closing"]
# signed: the signature is on the document; pending: the signer could not be reached in time and
# the document carries the legally required "signature pending" note (signed later, on recovery);
# not_required: the location signs nothing.
FiscalStatus = Literal["signed", "pending", "not_required"]

FISCAL_SIGN_PATCH = "fiscal-signing"  # the signing step in Sale, Return and Shift (issue 20)


@dataclass(frozen=True, kw_only=True)
class VatAmount:
    rate_bp: int  # 1900 = 19 %; 0 for exempt
    gross: int  # tax included
    net: int
    vat: int


@dataclass(frozen=True, kw_only=True)
class TenderAmount:
    kind: str  # tillflow's tender kind: cash, card, gift_card, store_credit, points, exchange
    amount: int  # applied to the document (cash: after change), negative for a refund


@dataclass(frozen=True, kw_only=True)
class FiscalLine:
    line_no: int
    sku: str
    name: str
    quantity: int  # negative on a return
    unit_price: int  # gross, tax included
    total: int  # gross, after discounts
    rate_bp: int
    discount: int = 0  # gross amount taken off this line


@dataclass(frozen=True, kw_only=True)
class FiscalDocument:
    document_id: str  # stable and unique: the workflow id (a closing: the shift's workflow id)
    kind: FiscalKind
    location_code: str
    till_code: str
    currency: str
    occurred_at: datetime  # the sale's sold_at (an offline sale: the time the till sold it)
    cashier: str
    total: int  # gross; negative for a return
    vat: tuple[VatAmount, ...]
    tenders: tuple[TenderAmount, ...]
    lines: tuple[FiscalLine, ...] = ()
    number: str = ""  # tillflow's own document number (the order number)
    refers_to: str = ""  # a return / void: the document_id of the sale it refunds
    buyer_tax_id: str = ""  # the customer's VAT number when given (PT: NIF)
    offline: bool = False  # sold while the till was offline: signed at replay


@dataclass(frozen=True, kw_only=True)
class FiscalSignature:
    document_id: str
    scheme: FiscalScheme
    status: FiscalStatus
    receipt_lines: tuple[str, ...] = ()  # printed under the totals, in this order
    qr: str = ""  # the QR code's content, printed as a QR code (empty: none)
    # What an audit keeps (TSE serial, transaction number, signature counter, start and end,
    # algorithm, signature, ...; PT: ATCUD, hash, previous hash, ...), as ordered pairs.
    fields: tuple[tuple[str, str], ...] = ()

    def field(self, name: str) -> str:
        return dict(self.fields).get(name, "")


@dataclass(frozen=True, kw_only=True)
class FiscalClosing:
    """A till's day closing (a shift's Z report), signed or recorded by the signer."""

    document_id: str  # the shift's workflow id
    location_code: str
    till_code: str
    currency: str
    z_number: int
    opened_at: datetime
    closed_at: datetime
    total: int
    vat: tuple[VatAmount, ...]
    tenders: tuple[TenderAmount, ...]


@dataclass(frozen=True, kw_only=True)
class FiscalUnit:
    """A location's fiscal configuration, as stored in `fiscal_units` (the signers' input;
    `integrations.fiscal.FiscalUnit` is this class)."""

    location_code: str
    scheme: FiscalScheme
    country: str  # ISO 3166-1 alpha-2 of the location
    # the scheme's own settings (fiskaly: tss_id, client_id; pt-at: series per document type)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class FiscalExportRequest:
    location_code: str
    date_from: date  # inclusive, in the store's timezone
    date_to: date  # inclusive
    till_code: str = ""  # empty: every till of the location


@dataclass(frozen=True, kw_only=True)
class FiscalExport:
    filename: str
    media_type: str
    content: bytes


# ---- activity payloads of the signing step ----


@dataclass(frozen=True, kw_only=True)
class SignDocument:
    """Sign the document of a workflow: built from what tillflow recorded (the order, the return,
    the shift), never from the till's word. Idempotent per (document_id, kind)."""

    document_id: str
    kind: FiscalKind
    # how long the till's receipt may wait for the signer before it prints "signature pending"
    # (0: wait for the signature, as a replay or a retry on recovery does)
    pending_after_s: float = 0.0
    # The till waits for this receipt: up to `pending_after_s` when given, else the worker's
    # TILLFLOW_FISCAL_TILL_WAIT_S; then, where the scheme allows it, the record is stored pending.
    at_till: bool = False
    # An offline sale replayed: recorded pending without asking the signer; the replay signs its
    # batch's pending records in sold-at order (`complete_pending`).
    defer: bool = False


# Only a scheme listed here may print a receipt before its signature; the others wait for it
# (Portugal signs locally: never pending). Germany: AEAO zu § 146a, Nr. 1.11 / BMF 2019: a TSE
# outage does not stop the sale; the receipt says the TSE failed, and the outage is documented.
PENDING_ALLOWED: frozenset[str] = frozenset({"de-fiskaly"})
PENDING_LINES: dict[str, tuple[str, ...]] = {
    "de-fiskaly": (
        "TSE ausgefallen: Signatur wird nachgereicht",
        "(TSE failure: signature pending)",
    ),
}


@dataclass(frozen=True, kw_only=True)
class CompletePending:
    """Sign a location's pending records in occurred_at order (replay; recovery)."""

    location_code: str
    limit: int = 500  # at most this many in one activity; the caller asks again for the rest
    # Only records pending at least this long (the catch-up: a fresh one is still its own
    # workflow's, a replay's sales still being recorded); 0: every pending record (a replay).
    stale_after_s: int = 0


@dataclass(frozen=True, kw_only=True)
class CompletedPending:
    signed: tuple[str, ...]  # document ids, in the order they were signed
    still_pending: int = 0


# ---- the catch-up: documents left pending, signed later (issue 20) ----

CATCH_UP_WORKFLOW = "FiscalCatchUp"
CATCH_UP_SCHEDULE_ID = "fiscal-catch-up"


@dataclass(frozen=True, kw_only=True)
class CatchUpRequest:
    """Sign what was left pending: a signer that refused until its unit was put right, a replay
    cut off before it signed its batch. Records younger than `stale_after_s` are left to the
    workflow that is still signing them."""

    locations: tuple[str, ...] = ()  # empty: every location with such records
    stale_after_s: int = 3600


@dataclass(frozen=True, kw_only=True)
class CatchUpResult:
    signed: int
    still_pending: tuple[tuple[str, int], ...] = ()  # (location, records) left for next time


async def start_catch_up_schedule(
    client: Client, *, every: timedelta, stale_after: timedelta, task_queue: str
) -> None:
    """The catch-up every `every` (one run at a time: a run waiting for a TSE makes the next
    skip); an existing schedule gets the spec again. Call at worker start-up."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            CATCH_UP_WORKFLOW,
            CatchUpRequest(stale_after_s=int(stale_after.total_seconds())),
            id=CATCH_UP_SCHEDULE_ID,
            task_queue=task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    await upsert_schedule(client, CATCH_UP_SCHEDULE_ID, schedule)
