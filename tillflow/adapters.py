"""Builds the third-party adapters (payment gateway, card readers) from the settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from contracts.fiscal import (
    FiscalClosing,
    FiscalDocument,
    FiscalExport,
    FiscalExportRequest,
    FiscalScheme,
    FiscalSignature,
    FiscalUnit,
)
from db.repositories import catalog
from db.session import Database
from domain.returns import ReturnPolicy
from integrations.fiscal import FiscalSigner, FiscalSigners
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


def fiscal_signers(settings: Settings, db: Database) -> FiscalSigners:
    """Issue 20: one signer per fiscal scheme, with the worker's secrets (fiskaly's API key for
    German TSEs, the certified software's key for Portugal); "none" signs nothing."""
    from integrations.fiscal_pt import PortugalSigner, PtSoftware
    from integrations.fiskaly import FiskalySigner

    return FiscalSigners(
        {
            "de-fiskaly": FiskalySigner(
                None,
                settings.fiskaly_base_url,
                _secret(settings.fiskaly_api_key),
                _secret(settings.fiskaly_api_secret),
                db,
                timeout_s=settings.fiskaly_timeout_s,
            ),
            # Its key is read (or the demo key made) when a Portuguese document is first signed.
            "pt-at": _FirstUse(
                "pt-at", lambda: PortugalSigner(db, PtSoftware.from_settings(settings))
            ),
        }
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


class _FirstUse:
    """A signer built when it is first used (a worker with no store of its scheme never reads
    that scheme's key files)."""

    def __init__(self, scheme: FiscalScheme, build: Callable[[], FiscalSigner]) -> None:
        self.scheme: FiscalScheme = scheme
        self._build = build
        self._signer: FiscalSigner | None = None
        self._lock = threading.Lock()

    @property
    def signer(self) -> FiscalSigner:
        with self._lock:
            if self._signer is None:
                self._signer = self._build()
            return self._signer

    async def start(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        await self.signer.start(unit, doc)

    async def finish(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        return await self.signer.finish(unit, doc)

    async def cancel(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        await self.signer.cancel(unit, doc)

    async def sign_closing(self, unit: FiscalUnit, closing: FiscalClosing) -> FiscalSignature:
        return await self.signer.sign_closing(unit, closing)

    async def export(self, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
        return await self.signer.export(unit, request)
