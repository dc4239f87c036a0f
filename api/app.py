"""The FastAPI application: tills, health, auth; with a sale worker in-process for fast starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import deadline, errors, input_guard, offline_docs
from api import metrics as api_metrics  # /metrics and request metrics (issue 18)
from api.routes import (
    admin_approvals,
    admin_places,
    admin_staff,
    audit,
    auth,
    backoffice_pages,
    carrier_webhooks,
    catalog,
    catalog_sync,
    codec,
    counts,
    customers,
    fulfilment,
    fulfilment_board,
    giftcards,
    health,
    loyalty,
    promotions,
    purchasing,
    reports,
    returns,
    shifts,
    staff,
    stock_ops,
    stock_view,
    store_offline,
    storefront,
    storefront_prices,
    till_lookup,
    till_offline,
    till_overrides,
    till_ship,
    tills,
    transfers,
    webhooks,
    webstore_webhooks,
    webstores,
)
from api.webstore_deliveries import HandOver, relay_forever
from db.session import Database
from integrations.payments import PaymentGateway
from tillflow.adapters import payment_gateway, return_policy
from tillflow.runtime import freeze_startup_objects
from tillflow.settings import Settings
from tillflow.temporal import connect, ensure_search_attributes
from tillflow.workers import sales_worker

log = logging.getLogger("tillflow.api")


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    client: Client | None = None,
    gateway: PaymentGateway | None = None,
    run_worker: bool | None = None,
) -> FastAPI:
    """Build the app; db and client are made from settings at startup unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.settings = settings
        app.state.db = db or Database(settings.database_url or "")
        if client is None:
            app.state.temporal = await connect(
                settings.temporal_address or "", settings.temporal_namespace
            )
            await ensure_search_attributes(app.state.temporal)
        else:
            app.state.temporal = client
        app.state.gateway = gateway or payment_gateway(settings)
        worker_task = None
        if run_worker if run_worker is not None else settings.api_workers_in_process:
            # Shares this process's Client, so sales can start eagerly on it.
            worker = sales_worker(
                app.state.temporal, app.state.db, app.state.gateway, policy=return_policy(settings)
            )
            worker_task = asyncio.create_task(worker.run())
        # Web store deliveries: handed to their workflows after the answer; the relay catches
        # stragglers.
        app.state.hand_over = HandOver(app.state.db, app.state.temporal, settings.web_task_queue)
        relay_task = asyncio.create_task(relay_forever(app.state.hand_over, settings))
        # Everything loaded so far lives as long as the process: out of the collector's way, so a
        # full collection during a burst of requests scans only what the requests made.
        freeze_startup_objects()
        log.info("api started", extra={"in_process_worker": worker_task is not None})
        try:
            yield
        finally:
            relay_task.cancel()
            if worker_task is not None:
                await worker.shutdown()
                await worker_task
            if own_db:
                app.state.db.dispose()

    app = FastAPI(
        title="tillflow",
        version="0.1.0",
        description="Tills, web stores and one stock pool, every process a durable Temporal saga.",
        lifespan=lifespan,
        docs_url=None,  # /docs and its assets: api/offline_docs.py (issue 18)
        redoc_url=None,
    )
    errors.install(app)
    input_guard.install(app, settings)  # bad input and oversized bodies: a 4xx at the door
    deadline.install(app, settings)  # a hung dependency: 503 + Retry-After, never a long wait
    api_metrics.install(app)  # outermost: refusals at the door are counted too (issue 18)
    offline_docs.install(app)  # Swagger UI served from the swagger-ui-bundle package (issue 18)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(tills.router)
    app.include_router(till_overrides.router)  # manager approvals at the till, voids
    app.include_router(till_lookup.router)  # product and customer search at the till
    app.include_router(till_ship.router)  # endless aisle: sell at the till, ship to home
    app.include_router(shifts.router)
    app.include_router(till_offline.router)
    app.include_router(store_offline.router)
    app.include_router(staff.router)
    app.include_router(giftcards.router)
    app.include_router(webhooks.router)
    app.include_router(webstore_webhooks.router)
    app.include_router(carrier_webhooks.router)  # Shippo tracking (issue 19)
    app.include_router(storefront.router)
    app.include_router(storefront_prices.router)
    app.include_router(webstores.router)
    app.include_router(returns.router)
    app.include_router(fulfilment.router)
    app.include_router(fulfilment_board.router)
    # The back office: catalogue and its sync, places and staff, stock operations, pages.
    app.include_router(catalog.router)
    app.include_router(catalog_sync.router)
    app.include_router(admin_places.router)
    app.include_router(admin_staff.router)
    app.include_router(admin_approvals.router)  # per-store approval table (issue 15)
    app.include_router(stock_view.router)
    app.include_router(stock_ops.router)
    app.include_router(purchasing.router)
    app.include_router(transfers.router)
    app.include_router(counts.router)
    app.include_router(backoffice_pages.router)
    app.include_router(codec.router)  # ops: the Temporal UI's codec server
    app.include_router(reports.router)  # finance reports and the daily packs (issue 16)
    from api.routes import fx_rates  # daily exchange rates for group totals (issue 19)

    app.include_router(fx_rates.router)
    app.include_router(audit.router)  # the hash-chained audit log (issue 15)
    app.include_router(customers.router)  # customer profiles, merge, export, erasure (issue 17)
    app.include_router(promotions.router)  # promotions, coupons, preview (issue 17)
    app.include_router(loyalty.router)  # loyalty points: balance, ledger, adjust (issue 17)
    from api.routes import event_subscriptions  # outbound events for middleware (issue 19)

    app.include_router(event_subscriptions.router)
    from api.routes import messages as customer_messages  # customer messages (issue 18)

    app.include_router(customer_messages.router)
    from api.routes import fiscal as fiscal_routes  # fiscal units, records, exports (issue 20)

    app.include_router(fiscal_routes.router)
    return app
