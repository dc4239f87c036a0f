"""Stock out to the web stores: wait for changed SKUs, push each store's number, acknowledge,
resync.

What a web store may sell of a SKU: Shopify gets the available-to-promise of each of its mapped
locations (at its own location ids); WooCommerce, which has no locations, gets the sum over the
mapped locations that can ship. Store-only products are 0 online; online-only ones count
warehouses only. A number the store already acknowledged is not sent again (unless forced).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.web_store_notices import refused, unavailable
from contracts.errors import encode_errors
from contracts.stock_sync import (
    AckRequest,
    DueSkus,
    PushRequest,
    PushResult,
    ResyncResult,
    StoreResync,
    WaitRequest,
)
from db.repositories import availability, stock_sync, webstores
from db.session import Database
from domain import routing
from integrations.storefront import Storefront, StorefrontError, StorefrontUnavailable, StoreItem

STOCK_PLATFORMS = ("shopify", "woocommerce", "magento")  # the stores with a stock adapter


def targets(db: Database, store: webstores.StoreConfig, sku: str) -> dict[str, int]:
    """{external location id (Shopify) or "" (WooCommerce): what the store may sell of the SKU}."""
    with db.unit_of_work() as s:
        sites = availability.sites(s, [sku], store.location_ids or None)
        flags = availability.product_flags(s, [sku]).get(sku, routing.ProductFlags())
    ext = {loc.location_id: loc.external_id for loc in store.locations}

    def sellable(site: routing.Site) -> int:
        if flags.store_only or (flags.online_only and site.kind != routing.WAREHOUSE):
            return 0
        return site.has(sku)

    if store.platform in ("shopify", "magento"):  # Magento: the MSI source codes (issue 19)
        return {
            ext[site.location_id]: sellable(site) for site in sites if ext.get(site.location_id)
        }
    return {"": sum(sellable(site) for site in sites if routing.ships(site))}


@encode_errors
class StockSyncActivities:
    """Pushes available-to-promise to every connected web store."""

    def __init__(self, db: Database, storefronts: Callable[[str], Storefront | None]) -> None:
        self.db = db
        self.storefronts = storefronts

    @activity.defn(name="stocksync.wait_for_changes")
    def wait_for_changes(self, req: WaitRequest) -> DueSkus:
        """Block (heartbeating) until SKUs have been quiet for the debounce window, or `wait_s`
        passes."""
        deadline = time.monotonic() + req.wait_s
        while True:
            # A cancellation (worker shutdown) is thrown into this thread: never in the middle of a
            # query.
            with activity.shield_thread_cancel_exception(), self.db.unit_of_work() as s:
                entries = stock_sync.due(
                    s, debounce_ms=req.debounce_ms, max_delay_ms=req.max_delay_ms
                )
                pushes = []
                if entries:
                    skus = [sku for sku, _ in entries]
                    for st in webstores.stores(s, platforms=STOCK_PLATFORMS):
                        listed = tuple(ln.sku for ln in webstores.listings(s, st.id, skus))
                        if listed:  # a store only hears about what it sells
                            pushes.append((st.code, listed))
                    if not pushes:
                        # Nobody sells these online: forget them here, without a round trip through
                        # the workflow (a retailer with no web store pays nothing for stock sync).
                        stock_sync.ack(s, entries)
                        entries = []
            if pushes or time.monotonic() >= deadline:
                return DueSkus(entries=tuple(entries), pushes=tuple(pushes))
            activity.heartbeat()
            time.sleep(req.poll_ms / 1000)

    @activity.defn(name="stocksync.push")
    def push(self, req: PushRequest) -> PushResult:
        """Send some SKUs' numbers to one store; 429 / 5xx retry the activity (a 429's Retry-After
        sets the delay; what went through before is not sent again), a 4xx is recorded on the
        listing."""
        with self.db.unit_of_work() as s:
            store = webstores.store(s, req.store_code, active_only=True)
            listings = webstores.listings(s, store.id, list(req.skus)) if store else []
        adapter = self.storefronts(req.store_code) if store else None
        if store is None or adapter is None:
            return PushResult(
                store_code=req.store_code, sent=0
            )  # disconnected meanwhile, or no stock adapter
        sent, refused = 0, []
        for item in listings:
            activity.heartbeat(item.sku)
            n, error = self._push_listing(store, adapter, item, req.force)
            sent += n
            if error:
                refused.append(item.sku)
        return PushResult(store_code=req.store_code, sent=sent, refused=tuple(refused))

    def _push_listing(
        self,
        store: webstores.StoreConfig,
        adapter: Storefront,
        item: webstores.Listing,
        force: bool,
    ) -> tuple[int, str]:
        sent = 0
        for location_key, quantity in sorted(targets(self.db, store, item.sku).items()):
            if not force and item.pushed.get(location_key) == quantity:
                continue
            try:
                adapter.set_available(
                    StoreItem(
                        item.sku, "", item.product_id, item.variant_id, item.inventory_item_id
                    ),
                    quantity,
                    location_external_id=location_key,
                )
            except StorefrontUnavailable as err:
                raise unavailable(err) from err
            except StorefrontError as err:
                with self.db.unit_of_work() as s:
                    webstores.record_push_error(s, store.id, item.sku, str(err))
                activity.logger.warning("web store refused a stock update: %s", err)
                return sent, str(err)
            with self.db.unit_of_work() as s:
                webstores.record_push(
                    s, store.id, item.sku, location_key, quantity, datetime.now(UTC)
                )
            sent += 1
        return sent, ""

    @activity.defn(name="stocksync.ack")
    def ack(self, req: AckRequest) -> int:
        """Drop pushed SKUs from the queue; one that changed meanwhile stays for the next round."""
        with self.db.unit_of_work() as s:
            return stock_sync.ack(s, list(req.entries))

    @activity.defn(name="stocksync.stores")
    def stores(self) -> tuple[str, ...]:
        """Active web stores that have a stock adapter (Shopify, WooCommerce)."""
        with self.db.unit_of_work() as s:
            return tuple(st.code for st in webstores.stores(s, platforms=STOCK_PLATFORMS))

    @activity.defn(name="stocksync.resync_store")
    def resync_store(self, req: StoreResync) -> ResyncResult:
        """Full resync of one store: refresh where our SKUs sit in its catalogue, then send every
        number."""
        with self.db.unit_of_work() as s:
            store = webstores.store(s, req.store_code, active_only=True)
        adapter = self.storefronts(req.store_code) if store else None
        if store is None or adapter is None:
            return ResyncResult(store_code=req.store_code, listed=0, sent=0)
        try:
            if req.refresh_listings:
                self._refresh(store, adapter.catalogue())
        except StorefrontUnavailable as err:
            raise unavailable(err) from err
        except StorefrontError as err:
            raise refused(err) from err
        with self.db.unit_of_work() as s:
            listings = webstores.listings(s, store.id)
        sent, errors = 0, []
        for item in listings:
            activity.heartbeat(item.sku)
            try:
                n, error = self._push_waiting(store, adapter, item)
                sent += n
                if error:
                    errors.append(error)
            except ApplicationError as err:
                errors.append(str(err))
        return ResyncResult(
            store_code=store.code, listed=len(listings), sent=sent, errors=tuple(errors[:20])
        )

    def _push_waiting(
        self,
        store: webstores.StoreConfig,
        adapter: Storefront,
        item: webstores.Listing,
        attempts: int = 5,
    ) -> tuple[int, str]:
        """Force one listing's numbers, sleeping through a few 429s / 5xx inside this (heartbeating)
        activity."""
        for attempt in range(attempts):
            try:
                return self._push_listing(store, adapter, item, force=True)
            except ApplicationError as err:
                if attempt == attempts - 1:
                    raise
                delay = (
                    err.next_retry_delay.total_seconds()
                    if err.next_retry_delay
                    else min(30.0, 2.0**attempt)
                )
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    activity.heartbeat(item.sku)
                    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        return 0, ""

    def _refresh(self, store: webstores.StoreConfig, items: list[StoreItem]) -> int:
        with self.db.unit_of_work() as s:
            ours = availability.resolve_skus(s, [i.sku for i in items] + [i.barcode for i in items])
            n = 0
            for item in items:
                sku = ours.get(item.sku) or ours.get(item.barcode)
                if sku:
                    webstores.upsert_listing(
                        s,
                        store.id,
                        sku,
                        product_id=item.product_id,
                        variant_id=item.variant_id,
                        inventory_item_id=item.inventory_item_id,
                    )
                    n += 1
        return n
