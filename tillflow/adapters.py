"""Builds the third-party adapters (payment gateway, card readers) from the settings."""

from __future__ import annotations

from collections.abc import Callable

from db.repositories import catalog
from db.session import Database
from integrations.payments import CardReader, PaymentGateway
from integrations.stripe_gateway import SimulatedReader, StripeGateway, StripeTerminalReader, make_client
from tillflow.settings import Settings

LOCALSTRIPE_KEY = "sk_test_localstripe"


def payment_gateway(settings: Settings) -> StripeGateway:
    """Stripe with the configured key, or the local emulator when no key is set."""
    if settings.stripe_api_key:
        return StripeGateway(make_client(settings.stripe_api_key, settings.stripe_api_base))
    base = settings.stripe_api_base or f"http://127.0.0.1:{settings.localstripe_port}"
    return StripeGateway(make_client(LOCALSTRIPE_KEY, base))


def reader_factory(db: Database, gateway: PaymentGateway) -> Callable[[str], CardReader]:
    """The card reader configured for a till: `simulated`, or a Stripe Terminal reader id."""

    def reader_for(till_code: str) -> CardReader:
        with db.unit_of_work() as s:
            till = catalog.till_view(s, till_code)
        configured = till.card_reader if till else "simulated"
        if configured == "simulated" or not isinstance(gateway, StripeGateway):
            return SimulatedReader(gateway)
        return StripeTerminalReader(gateway.client, configured)

    return reader_for
