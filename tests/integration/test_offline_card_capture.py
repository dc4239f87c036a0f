"""Card payments a terminal stored offline are captured through Stripe once, or declined with a
reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from integrations.offline_cards import StoredCardPayment
from integrations.stripe_offline import StripeOfflineCapturer


def stored(reference: str, amount: int = 1500) -> StoredCardPayment:
    return StoredCardPayment(
        f"sale:BER1:{uuid.uuid4().hex[:8]}:offline-card:1",
        reference,
        amount,
        "EUR",
        "visa",
        "4242",
        "BER1",
        "c1",
        datetime.now(UTC),
    )


def terminal_payment(gateway, card: str) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    intent = gateway.create_intent(
        amount=1500, currency="EUR", key=f"t:{uuid.uuid4().hex}", card_present=True, metadata={}
    )
    return gateway.attach_and_confirm(intent.id, card, key=f"t:{uuid.uuid4().hex}").id


def test_stored_payment_is_captured_once(gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capturer = StripeOfflineCapturer(gateway)
    payment = stored(terminal_payment(gateway, "pm_card_visa"))
    first, second = capturer.capture(payment), capturer.capture(payment)
    assert first.approved and second.approved and first.provider_ref == payment.reference
    assert gateway.retrieve_intent(payment.reference).status == "succeeded"


def test_declined_or_foreign_references_are_declines_with_reasons(gateway) -> None:  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    capturer = StripeOfflineCapturer(gateway)
    declined = capturer.capture(stored(terminal_payment(gateway, "pm_card_chargeCustomerFail")))
    assert not declined.approved and "declined" in declined.decline_reason.lower()
    foreign = capturer.capture(stored("tok_term_0001"))
    assert not foreign.approved and "not a Stripe payment" in foreign.decline_reason
