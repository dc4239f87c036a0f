"""Stripe capture of card payments a till's terminal stored while offline.

Stripe Terminal forwards a stored offline payment as a PaymentIntent awaiting capture; its id is
the reference the terminal gives the till. Capturing it with our key happens once, however often
the replay runs.
"""

from __future__ import annotations

import stripe

from integrations.offline_cards import (
    CaptureOutcome,
    CaptureUnavailable,
    OfflineCardCapturer,
    StoredCardPayment,
)
from integrations.payments import GatewayError
from integrations.stripe_gateway import StripeGateway


class StripeOfflineCapturer(OfflineCardCapturer):
    """Capture through the same gateway the tills use online."""

    def __init__(self, gateway: StripeGateway) -> None:
        self.gateway = gateway

    def capture(self, payment: StoredCardPayment) -> CaptureOutcome:
        if not payment.reference.startswith("pi_"):
            return CaptureOutcome(
                False,
                decline_reason=f"The terminal reference {payment.reference!r} is not a "
                "Stripe payment; collect the amount from the customer.",
            )
        try:
            intent = self.gateway.retrieve_intent(payment.reference)
            if intent.status in ("requires_payment_method", "canceled"):
                return CaptureOutcome(
                    False,
                    intent.id,
                    intent.decline_message or f"The card payment was {intent.status}.",
                )
            if intent.status != "succeeded":
                intent = self.gateway.capture(intent.id, amount=payment.amount, key=payment.key)
        except GatewayError as err:
            return CaptureOutcome(False, payment.reference, str(err))
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as err:
            raise CaptureUnavailable(str(err)) from err
        if intent.status == "succeeded":
            return CaptureOutcome(True, intent.id)
        return CaptureOutcome(
            False, intent.id, intent.decline_message or f"The card payment is {intent.status}."
        )
