"""Builds the third-party adapters (payment gateway, card readers) from the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from db.repositories import catalog
from db.session import Database
from domain.returns import ReturnPolicy
from integrations.payments import CardReader, PaymentGateway
from integrations.storefront import Storefront
from integrations.stripe_gateway import (
    SimulatedReader,
    StripeGateway,
    StripeTerminalReader,
    make_client,
)
from tillflow.settings import Settings

if TYPE_CHECKING:
    from reports.registry import ReportContext

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


def return_policy(settings: Settings) -> ReturnPolicy:
    """The return policy from the TILLFLOW_RETURN_* settings."""
    windows = {}
    for part in filter(None, (p.strip() for p in settings.return_category_windows.split(","))):
        category, _, days = part.partition("=")
        if not days.strip().isdigit():
            raise ValueError(f"TILLFLOW_RETURN_CATEGORY_WINDOWS: '{part}' is not category=days")
        windows[category.strip()] = int(days)
    return ReturnPolicy(
        window_days=settings.return_window_days,
        category_windows=windows,
        final_sale_categories=frozenset(
            c.strip() for c in settings.return_final_sale_categories.split(",") if c.strip()
        ),
        receiptless_cap=settings.receiptless_cap,
        receiptless_period_days=settings.receiptless_period_days,
        late_needs_approval=settings.return_late_needs_approval,
    )


def storefront_factory(db: Database, settings: Settings) -> Callable[[str], Storefront | None]:
    """The Storefront adapter of a web store by code (Shopify, WooCommerce; None for our own
    storefront).

    Adapters are kept per connection and rebuilt when its address or credentials change.
    """
    from db.repositories import webstores
    from integrations.magento import MagentoStorefront
    from integrations.shopify import ShopifyStorefront
    from integrations.storefront import resolve_secret
    from integrations.woocommerce import WooCommerceStorefront

    cache: dict[str, tuple[tuple[str, ...], Storefront]] = {}
    lock = threading.Lock()

    def storefront_for(code: str) -> Storefront | None:
        with db.unit_of_work() as s:
            store = webstores.store(s, code)
        if store is None or store.platform not in ("shopify", "woocommerce", "magento"):
            return None
        base = store.api_base_url or f"https://{store.shop_domain}"
        secret = lambda v: resolve_secret(v, settings.webstore_secrets)  # noqa: E731
        fingerprint = (
            store.platform,
            base,
            store.access_token,
            store.consumer_key,
            store.consumer_secret,
        )
        with lock:
            hit = cache.get(code)
            if hit is not None and hit[0] == fingerprint:
                return hit[1]
            adapter: Storefront
            if store.platform == "shopify":
                adapter = ShopifyStorefront(
                    base,
                    secret(store.access_token),
                    api_version=settings.shopify_api_version,
                    timeout=settings.webstore_timeout_s,
                )
            elif store.platform == "magento":  # integration access token (issue 19)
                adapter = MagentoStorefront(
                    base, secret(store.access_token), timeout=settings.webstore_timeout_s
                )
            else:
                adapter = WooCommerceStorefront(
                    base,
                    secret(store.consumer_key),
                    secret(store.consumer_secret),
                    timeout=settings.webstore_timeout_s,
                )
            cache[code] = (fingerprint, adapter)
            return adapter

    return storefront_for


def report_context(settings: Settings) -> ReportContext:
    """What the reports need from the deployment: the Temporal UI's address (workflow links), the
    account map and the Xero tax rate of the journal export."""
    from reports.registry import context_for

    return context_for(
        settings.temporal_ui_url,
        settings.temporal_ui_port,
        settings.temporal_namespace,
        {"account_map": settings.account_map, "xero_tax_rate": settings.xero_tax_rate},
    )
