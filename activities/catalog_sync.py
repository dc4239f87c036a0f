"""Catalogue out to a web store and the store's own edits back in (CatalogSync's activities).

Out: the catalogue outbox rows after the store's cursor are coalesced per product and each product
is sent whole (what tillflow owns: title, description, status, variants with SKU, barcode and
price); what the store already has (the snapshot of the last push) is not sent again, so a retried
round costs nothing. A 429 / 5xx retries the activity (Retry-After sets the delay); a 4xx is
recorded on the product's link and its stock listings, and the cursor moves on.

In: product webhooks waiting in the inbox are applied where the web store owns the field
(settings), and reported as conflicts where tillflow does (price and barcode always): tillflow's
value is then pushed back. Each delivery is applied and marked in one transaction.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session
from temporalio import activity

from activities.web_store_notices import unavailable
from contracts.catalog import (
    SOURCE_TILLFLOW,
    CatalogDue,
    CatalogWait,
    InboundRequest,
    InboundResult,
    PushCatalog,
    PushCatalogResult,
    ResyncRequest,
    ResyncResult,
    catalog_sync_workflow_id,
    webstore_source,
)
from contracts.errors import encode_errors
from db.repositories import catalog_outbox, stock_sync, webstores
from db.repositories import catalog_sync as repo
from db.session import Database
from domain.catalog_sync import (
    Ownership,
    ProductState,
    RemoteProduct,
    coalesce,
    compare,
    remote_snapshot,
)
from domain.errors import InvalidRequest
from integrations.catalog_publisher import CatalogPublisher, publisher_for
from integrations.shopify_catalog import remote_from_webhook
from integrations.storefront import Storefront, StorefrontError, StorefrontUnavailable
from integrations.woocommerce_catalog import remote_from_rest

PLATFORMS = ("shopify", "woocommerce", "magento")  # magento: products out only (issue 19)
Outcome = Literal["pushed", "archived", "unchanged", "refused", "skipped"]
DELETE_TOPICS = ("products/delete", "product.deleted")


def parse_inbound(
    platform: str, topic: str, body: dict[str, object], currency: str
) -> RemoteProduct:
    """A product webhook body as a RemoteProduct (InvalidRequest when it is none)."""
    deleted = topic in DELETE_TOPICS
    if platform == "shopify":
        return remote_from_webhook(body, currency, deleted=deleted)
    return remote_from_rest(body, currency, None, deleted=deleted)


@encode_errors
class CatalogSyncActivities:
    """Pushes the catalogue to one web store and applies the store's product webhooks."""

    def __init__(
        self,
        db: Database,
        storefronts: Callable[[str], Storefront | None],
        owners: Ownership,
        publishers: Callable[[Storefront | None], CatalogPublisher | None] = publisher_for,
    ) -> None:
        self.db = db
        self.storefronts = storefronts
        self.owners = owners
        self.publishers = publishers

    # ---- waiting ------------------------------------------------------------------------------

    @activity.defn(name="catalogsync.wait_for_changes")
    def wait_for_changes(self, req: CatalogWait) -> CatalogDue:
        """Block (heartbeating) until the store's outbox rows have been quiet for the debounce
        window (or the oldest waited the maximum delay), a scheduled price started, or a product
        webhook waits; or `wait_s` passes."""
        deadline = time.monotonic() + req.wait_s
        while True:
            with activity.shield_thread_cancel_exception():
                due = self._due(req)
            if due is not None:
                return due
            if time.monotonic() >= deadline:
                return CatalogDue()
            activity.heartbeat()
            time.sleep(req.poll_ms / 1000)

    def _due(self, req: CatalogWait) -> CatalogDue | None:
        with self.db.unit_of_work() as s:
            store = webstores.store(s, req.store_code, active_only=True)
            if store is None or store.platform not in PLATFORMS:
                return CatalogDue(connected=False)
            repo.start_cursor_at_latest(s, store.id)
            cur = repo.cursor(s, store.id)
            now = repo.db_now(s)
            if cur.prices_checked_at is None:
                repo.advance(s, store.id, prices_checked_at=now)
                checked = now
            else:
                checked = cur.prices_checked_at
            p = repo.pending(s, cur.last_change_id, webstore_source(store.code))
            if p.max_id > cur.last_change_id and p.others == 0:
                # Only changes that came from this store itself: it need not hear of them.
                repo.advance(s, store.id, to_change_id=p.max_id)
            quiet = timedelta(milliseconds=req.debounce_ms)
            longest = timedelta(milliseconds=req.max_delay_ms)
            changes_due = bool(
                p.others
                and p.newest is not None
                and p.oldest is not None
                and (now - p.newest >= quiet or now - p.oldest >= longest)
            )
            scheduled = tuple(repo.prices_started(s, checked, now)) if checked < now else ()
            inbound = repo.count_inbound(s, repo.inbound_provider(store.platform), store.code)
        if not (changes_due or scheduled or inbound):
            return None
        return CatalogDue(
            upto_change_id=p.max_id if changes_due else cur.last_change_id,
            changes=p.others if changes_due else 0,
            scheduled=scheduled,
            prices_checked_at=now.isoformat() if scheduled else "",
            inbound=inbound,
        )

    # ---- out ----------------------------------------------------------------------------------

    def _adapter(self, code: str) -> tuple[webstores.StoreConfig | None, CatalogPublisher | None]:
        with self.db.unit_of_work() as s:
            store = webstores.store(s, code, active_only=True)
        if store is None or store.platform not in PLATFORMS:
            return None, None
        return store, self.publishers(self.storefronts(code))

    @activity.defn(name="catalogsync.push")
    def push(self, req: PushCatalog) -> PushCatalogResult:
        """Send the products changed after the store's cursor (up to `upto_change_id`) and those
        whose scheduled price started; then move the cursor."""
        store, publisher = self._adapter(req.store_code)
        if store is None or publisher is None:
            return PushCatalogResult(store_code=req.store_code)
        with self.db.unit_of_work() as s:
            after = repo.cursor(s, store.id).last_change_id
            rows = repo.changes(s, after, req.upto_change_id)
        reached = rows[-1][0] if len(rows) >= repo.ROUND_LIMIT else req.upto_change_id
        codes = [
            c.product_code for c in coalesce([r[1:] for r in rows], webstore_source(store.code))
        ]
        codes += [c for c in req.scheduled if c not in codes]
        counts: dict[str, int] = {}
        refused: list[str] = []
        for code in codes:
            activity.heartbeat(code)
            outcome = self._push_product(store, publisher, code)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "refused":
                refused.append(code)
        with self.db.unit_of_work() as s:
            repo.advance(
                s,
                store.id,
                to_change_id=max(reached, after),
                prices_checked_at=datetime.fromisoformat(req.prices_checked_at)
                if req.prices_checked_at
                else None,
                error=f"refused: {', '.join(refused[:20])}" if refused else "",
            )
        return PushCatalogResult(
            store_code=store.code,
            pushed=counts.get("pushed", 0),
            archived=counts.get("archived", 0),
            unchanged=counts.get("unchanged", 0) + counts.get("skipped", 0),
            refused=tuple(refused),
        )

    def _push_product(
        self,
        store: webstores.StoreConfig,
        publisher: CatalogPublisher,
        code: str,
        *,
        force: bool = False,
    ) -> Outcome:
        with self.db.unit_of_work() as s:
            state = repo.product_state(s, code, store)
            link = repo.link(s, store.id, code)
        if state is None:
            return "skipped"
        if link is not None and link.excluded:
            # A manager kept the store's deletion: the product stays off sale there for good.
            state = dataclasses.replace(state, status="archived")
        listed = link is not None and bool(link.external_id)
        snapshot = state.snapshot()
        try:
            if state.status == "archived" or (state.status == "draft" and not listed):
                if not listed:
                    return "unchanged"  # never in this store: nothing to take off sale
                assert link is not None
                if not force and link.pushed.get("status") == "archived":
                    return "unchanged"
                publisher.archive(link.external_id)
                with self.db.unit_of_work() as s:
                    repo.save_link(s, store.id, code, pushed=snapshot, pushed_now=True, error="")
                return "archived"
            if not force and listed and link is not None and link.pushed == snapshot:
                return "unchanged"
            product_id = link.external_id if link is not None else ""
            variant_ids = dict(link.variant_ids) if link is not None else {}
            if not product_id:
                found = self._find(publisher, state)
                if found is not None:
                    product_id = found.product_id
                    variant_ids = {rv.sku: rv.variant_id for rv in found.variants if rv.sku}
            try:
                published = publisher.upsert(state, product_id=product_id, variant_ids=variant_ids)
            except StorefrontError:
                # Deleted in the store meanwhile: create it again rather than fail for ever.
                if not product_id or publisher.find(product_id=product_id, currency=state.currency):
                    raise
                published = publisher.upsert(state, product_id="", variant_ids={})
        except StorefrontUnavailable as err:
            raise unavailable(err) from err
        except StorefrontError as err:
            activity.logger.warning("web store refused a product: %s", err)
            with self.db.unit_of_work() as s:
                repo.record_listing_error(s, store.id, code, str(err))
            return "refused"
        with self.db.unit_of_work() as s:
            repo.save_link(
                s,
                store.id,
                code,
                external_id=published.product_id,
                variant_ids=published.variant_ids,
                pushed=snapshot,
                pushed_now=True,
                error="",
            )
            new_skus = []
            for sku, variant_id in published.variant_ids.items():
                known = webstores.listings(s, store.id, [sku])
                webstores.upsert_listing(
                    s,
                    store.id,
                    sku,
                    product_id=published.product_id,
                    variant_id=variant_id,
                    inventory_item_id=published.inventory_item_ids.get(sku, ""),
                )
                if not known or known[0].product_id != published.product_id:
                    new_skus.append(sku)
            # A product new to the store gets its stock numbers too (StockSync).
            stock_sync.enqueue(s, new_skus)
        return "pushed"

    @staticmethod
    def _find(publisher: CatalogPublisher, state: ProductState) -> RemoteProduct | None:
        """The store's product for ours (a retried create finds the one it made)."""
        for sku in dict.fromkeys([state.code, *(v.sku for v in state.variants)]):
            found = publisher.find(sku=sku, currency=state.currency)
            if found is not None:
                return found
        return None

    @activity.defn(name="catalogsync.resync")
    def resync(self, req: ResyncRequest) -> ResyncResult:
        """Send every product sold online (and every one the store lists), or the products asked
        for, again whether or not they changed; a retry resumes after the last product done
        (heartbeat details)."""
        store, publisher = self._adapter(req.store_code)
        if store is None or publisher is None:
            return ResyncResult(store_code=req.store_code)
        with self.db.unit_of_work() as s:
            codes = list(req.products) or repo.resync_products(s, store.id)
        details = activity.info().heartbeat_details
        start = int(details[0]) if details else 0
        pushed, refused = 0, []
        for i in range(start, len(codes)):
            outcome = self._push_product(store, publisher, codes[i], force=True)
            pushed += outcome in ("pushed", "archived")
            if outcome == "refused":
                refused.append(codes[i])
            activity.heartbeat(i + 1)
        with self.db.unit_of_work() as s:
            repo.advance(s, store.id, resynced=True, error="")
        return ResyncResult(
            store_code=store.code, products=len(codes), pushed=pushed, refused=tuple(refused[:50])
        )

    # ---- in -----------------------------------------------------------------------------------

    @activity.defn(name="catalogsync.apply_inbound")
    def apply_inbound(self, req: InboundRequest) -> InboundResult:
        """Apply the store's waiting product webhooks, oldest first, each in one transaction with
        its inbox mark (a retry skips what is done)."""
        with self.db.unit_of_work() as s:
            store = webstores.store(s, req.store_code, active_only=True)
            waiting = (
                repo.pending_inbound(s, repo.inbound_provider(store.platform), store.code)
                if store is not None
                else []
            )
        applied = conflicts = skipped = 0
        for ev in waiting:
            assert store is not None
            activity.heartbeat(ev.inbox_id)
            a, c = self._apply_one(store, ev)
            applied, conflicts = applied + a, conflicts + c
            skipped += not (a or c)
        return InboundResult(applied=applied, conflicts=conflicts, skipped=skipped)

    def _apply_one(self, store: webstores.StoreConfig, ev: repo.Inbound) -> tuple[int, int]:
        wf = catalog_sync_workflow_id(store.code)
        with self.db.unit_of_work() as s:
            try:
                remote = parse_inbound(store.platform, ev.topic, ev.body, store.currency)
            except InvalidRequest:
                repo.mark_inbound(s, ev.inbox_id, "unusable", wf)
                return 0, 0
            link = repo.link_by_external(s, store.id, remote.product_id)
            code = (
                link.product_code
                if link
                else repo.product_code_of_skus(
                    s, [v.sku for v in remote.variants] + [v.barcode for v in remote.variants]
                )
            )
            if code is None:
                if remote.deleted:
                    repo.mark_inbound(s, ev.inbox_id, "ignored", wf)
                    return 0, 0
                # A product made in the store's admin that tillflow does not know: tillflow is
                # the catalogue's master, so someone decides (create it in tillflow, or remove it).
                repo.record_conflict(
                    s,
                    store_id=store.id,
                    product_code="",
                    sku=next((v.sku for v in remote.variants if v.sku), remote.product_id)[:64],
                    field="product",
                    tillflow_value="",
                    webstore_value=remote.title,
                    event_id=ev.event_id,
                )
                repo.mark_inbound(s, ev.inbox_id, "conflict", wf)
                return 0, 1
            state = repo.product_state(s, code, store)
            assert state is not None
            if link is None:
                found_ids = {
                    v.sku: rv.variant_id
                    for v in state.variants
                    for rv in remote.variants
                    if rv.sku == v.sku
                }
                repo.save_link(
                    s, store.id, code, external_id=remote.product_id, variant_ids=found_ids
                )
                link = repo.link(s, store.id, code)
                assert link is not None
            if remote.version_us and remote.version_us < link.remote_version_us:
                repo.mark_inbound(s, ev.inbox_id, "stale", wf)
                return 0, 0
            if remote.deleted:
                return self._deleted(s, store, ev, code, state, wf)
            findings = compare(state, remote, link.pushed, self.owners, link.variant_ids)
            applied = [f for f in findings if f.action == "apply"]
            for f in applied:
                repo.set_text(s, code, f.field, f.theirs)
            ids = [
                repo.record_conflict(
                    s,
                    store_id=store.id,
                    product_code=code,
                    sku=f.sku,
                    field=f.field,
                    tillflow_value=f.ours,
                    webstore_value=f.theirs,
                    currency=store.currency if f.field == "price" else "",
                    event_id=ev.event_id,
                )
                for f in findings
                if f.action == "conflict"
            ]
            repo.save_link(
                s,
                store.id,
                code,
                pushed=remote_snapshot(remote, state, link.pushed, link.variant_ids),
                remote_version_us=max(remote.version_us, link.remote_version_us),
            )
            if applied:
                # Every other web store (and the tills) hears of it; this one, its origin, not.
                catalog_outbox.record(
                    s,
                    code,
                    "upsert",
                    fields=[f.field for f in applied],
                    source=webstore_source(store.code),
                    detail={"event": ev.event_id},
                )
            if ids:
                # tillflow's value goes back to the store that changed it.
                catalog_outbox.record(
                    s,
                    code,
                    "upsert",
                    fields=[f.field for f in findings if f.action == "conflict"],
                    source=SOURCE_TILLFLOW,
                    detail={"push_back": store.code, "conflicts": ids},
                )
            repo.mark_inbound(s, ev.inbox_id, "applied", wf)
            return len(applied), len(ids)

    def _deleted(
        self,
        s: Session,
        store: webstores.StoreConfig,
        ev: repo.Inbound,
        code: str,
        state: ProductState,
        wf: str,
    ) -> tuple[int, int]:
        """Deleted in the store's admin: forget its ids there; a product tillflow still sells is
        a conflict (and is listed again), an archived one is simply gone."""
        repo.save_link(s, store.id, code, external_id="", variant_ids={}, pushed={})
        if state.status == "archived":
            repo.mark_inbound(s, ev.inbox_id, "applied", wf)
            return 0, 0
        conflict = repo.record_conflict(
            s,
            store_id=store.id,
            product_code=code,
            sku="",
            field="deleted",
            tillflow_value=state.status,
            webstore_value="deleted",
            event_id=ev.event_id,
        )
        catalog_outbox.record(
            s,
            code,
            "upsert",
            fields=["status"],
            source=SOURCE_TILLFLOW,
            detail={"push_back": store.code, "conflicts": [conflict]},
        )
        repo.mark_inbound(s, ev.inbox_id, "applied", wf)
        return 0, 1
