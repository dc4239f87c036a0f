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

from domain.money import format_minor
from integrations.payments import GatewayError, Intent, PaymentGateway

# What the till's terminal writes into the metadata of a payment it stores offline: the till and
# the sale it belongs to. A stored payment without them is never accepted for a sale.
TILL_FIELD = "till"
SALE_FIELD = "client_sale_id"
CAPTURABLE = ("requires_capture", "succeeded")  # authorized and waiting, or captured already
DECLINED = ("requires_payment_method", "canceled")  # no money: collect it from the customer


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


def find_stored_intent(gateway: PaymentGateway, reference: str) -> Intent | None:
    """The provider's payment a terminal reference names; None when it names none (not a
    PaymentIntent id, or one the provider does not know)."""
    if not reference.startswith("pi_"):
        return None
    try:
        return gateway.retrieve_intent(reference)
    except GatewayError:
        return None


def intent_mismatch(intent: Intent, payment: StoredCardPayment) -> str:
    """Why the provider's payment cannot be the one the till stored for this sale ("" when it can
    be: then it is captured, or, declined, collected from the customer)."""
    till, sale = intent.metadata.get(TILL_FIELD, ""), intent.metadata.get(SALE_FIELD, "")
    if (till, sale) != (payment.till_code, payment.client_sale_id):
        named = f"till {till or '?'}, sale {sale or '?'}" if till or sale else "no till and sale"
        return (
            f"The card payment {intent.id} belongs to {named}, not to sale "
            f"{payment.client_sale_id} of till {payment.till_code}."
        )
    if intent.currency.upper() != payment.currency.upper():
        return (
            f"The card payment {intent.id} is in {intent.currency.upper()}, "
            f"the sale in {payment.currency.upper()}."
        )
    paid = intent.amount_received if intent.status == "succeeded" else intent.amount
    if paid != payment.amount or intent.amount != payment.amount:
        return (
            f"The card payment {intent.id} is for {format_minor(intent.amount, intent.currency)}, "
            f"the journal says {format_minor(payment.amount, payment.currency)}."
        )
    if intent.status not in CAPTURABLE + DECLINED:
        return f"The card payment {intent.id} is {intent.status}, not a stored payment to capture."
    return ""
