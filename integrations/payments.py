"""The payment gateway and card reader Protocols, and the values they exchange.

Only provider ids, brand and last4 ever leave an adapter: never a card number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Intent:
    id: str
    # requires_payment_method | requires_confirmation | requires_capture | succeeded | canceled
    # | processing
    status: str
    amount: int
    amount_received: int
    currency: str
    key: str = ""  # our idempotency key, kept in the provider's metadata
    card_brand: str = ""
    card_last4: str = ""
    # The card's wallet as the provider's charge names it (apple_pay, google_pay …; "" for none).
    card_wallet: str = ""
    decline_code: str = ""
    decline_message: str = ""
    client_secret: str = ""  # online payments: what the storefront's Stripe.js confirms with
    # The provider object's metadata as set by whoever created it (a till's terminal for a payment
    # stored offline: the till and the sale it belongs to). Never a card number.
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def authorized(self) -> bool:
        return self.status in ("requires_capture", "succeeded")

    @property
    def declined(self) -> bool:
        return self.status == "requires_payment_method" and bool(
            self.decline_code or self.decline_message
        )


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int
    key: str = ""  # our idempotency key, from the provider's metadata


class GatewayError(Exception):
    """The provider answered with an error that retrying will not fix (bad request, declined)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class PaymentGateway(Protocol):
    """Cards through a payment service provider; every call carries our idempotency key."""

    def create_intent(
        self,
        *,
        amount: int,
        currency: str,
        key: str,
        card_present: bool,
        metadata: dict[str, str],
        payment_method: str | None = None,
    ) -> Intent: ...

    def find_intent_by_key(self, key: str) -> Intent | None: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def attach_and_confirm(self, intent_id: str, payment_method: str, *, key: str) -> Intent: ...

    def capture(self, intent_id: str, *, amount: int | None, key: str) -> Intent: ...

    def cancel(self, intent_id: str, *, key: str) -> Intent: ...

    def refund(
        self, intent_id: str, *, amount: int, key: str, metadata: dict[str, str]
    ) -> RefundResult: ...

    def list_refunds(self, intent_id: str) -> list[RefundResult]: ...


class CardReader(Protocol):
    """A card-present terminal: hand it an intent, the customer taps, the intent is authorized."""

    def process(self, intent_id: str, *, key: str, simulate: str | None = None) -> None: ...
