"""Capturing card payments a till stored while offline: the Protocol the payment provider adapter
implements.

The till's card terminal keeps an offline payment and gives the till only a reference (token),
the brand and the last four digits; never a card number. When the journal is replayed, the
capturer turns that reference into money, or says it was declined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredCardPayment:
    key: str  # our idempotency key, "{sale workflow id}:offline-card:{n}": send it with every call
    reference: str  # the terminal's token for the stored payment
    amount: int  # minor units
    currency: str
    brand: str
    last4: str
    till_code: str
    client_sale_id: str
    taken_at: datetime


@dataclass(frozen=True)
class CaptureOutcome:
    approved: bool
    provider_ref: str = ""  # e.g. the PaymentIntent id once captured
    decline_reason: str = ""  # for the collection task, in words a manager understands


class CaptureUnavailable(Exception):
    """The provider could not be reached or answered with a temporary error: try again later."""


class OfflineCardCapturer(Protocol):
    """Captures one stored offline card payment; the same key twice must not capture twice."""

    def capture(self, payment: StoredCardPayment) -> CaptureOutcome: ...
