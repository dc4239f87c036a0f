"""The web task queue's worker (carts, online orders) for a test module outside tests/webstore.

Its online orders' fulfilment children go to the stub queue (nobody polls it there), so a module
using it never reaches real fulfilment. Use it module-scoped: tests/webstore runs its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client

from db.session import Database


@asynccontextmanager
async def web_queue_worker(
    client: Client, db: Database, gateway: Any, settings: Any
) -> AsyncIterator[None]:
    from tillflow.adapters import storefront_factory
    from tillflow.workers import webstore_worker

    worker = webstore_worker(
        client,
        db,
        gateway,
        storefront_factory(db, settings),
        fulfilment_queue="tillflow-fulfilment-stub",
    )
    async with worker:
        yield
