"""Catalogue sync with the web stores (CatalogSync, one per web store): ids, names, payloads and
client helpers.

`catalogsync:{webstore}` runs for as long as the store is connected (it continues as new): it
waits until the catalogue outbox has been quiet for a debounce window (or a maximum delay has
passed), pushes the changed products, applies the store's own product webhooks, and runs a full
resync when asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from contracts.common import WEB_TASK_QUEUE

TASK_QUEUE = WEB_TASK_QUEUE
CATALOG_SYNC_WORKFLOW = "CatalogSync"
CHANGED_SIGNAL = "changed"
RESYNC_SIGNAL = "resync"
STATUS_QUERY = "status"
SOURCE_TILLFLOW = "tillflow"

KeepSide = Literal["tillflow", "webstore"]


def catalog_sync_workflow_id(store_code: str) -> str:
    return f"catalogsync:{store_code}"


def webstore_source(store_code: str) -> str:
    """The outbox `source` of a change that came from this web store's own admin."""
    return f"webstore:{store_code}"


@dataclass(frozen=True, kw_only=True)
class CatalogSyncRequest:
    store_code: str
    debounce_ms: int = 1000
    max_delay_ms: int = 10_000
    poll_ms: int = 500
    wait_s: float = 20.0
    rounds_before_new_run: int = 200
    resync: bool = False  # carried over a continue-as-new: a resync asked for and not yet run
    resync_products: tuple[str, ...] = ()  # ... limited to these products (() = all)


@dataclass(frozen=True, kw_only=True)
class CatalogChanged:
    """A nudge: something changed (a product webhook came in, a conflict was resolved)."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ResyncAsked:
    requested_by: str = ""
    products: tuple[str, ...] = ()  # only these products; () = every product sold online


@dataclass(frozen=True, kw_only=True)
class CatalogWait:
    store_code: str
    debounce_ms: int
    max_delay_ms: int
    poll_ms: int
    wait_s: float


@dataclass(frozen=True, kw_only=True)
class CatalogDue:
    """What is due for one store: outbox rows up to `upto_change_id`, products whose scheduled
    price started, product webhooks waiting; `connected` False: the store is gone, stop."""

    connected: bool = True
    upto_change_id: int = 0
    changes: int = 0
    scheduled: tuple[str, ...] = ()
    prices_checked_at: str = ""  # ISO time the scheduled-price check ran up to
    inbound: int = 0


@dataclass(frozen=True, kw_only=True)
class InboundRequest:
    store_code: str


@dataclass(frozen=True, kw_only=True)
class InboundResult:
    applied: int = 0  # fields written to tillflow (owned by the web store)
    conflicts: int = 0
    skipped: int = 0  # echoes of our own pushes, stale or unusable deliveries


@dataclass(frozen=True, kw_only=True)
class PushCatalog:
    store_code: str
    upto_change_id: int
    scheduled: tuple[str, ...] = ()
    prices_checked_at: str = ""


@dataclass(frozen=True, kw_only=True)
class PushCatalogResult:
    store_code: str
    pushed: int = 0
    archived: int = 0
    unchanged: int = 0
    refused: tuple[str, ...] = ()  # product codes the store refused (4xx), recorded on the link


@dataclass(frozen=True, kw_only=True)
class ResyncRequest:
    store_code: str
    products: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ResyncResult:
    store_code: str
    products: int = 0
    pushed: int = 0
    refused: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CatalogSyncStatus:
    store_code: str
    rounds: int = 0
    pushed: int = 0
    archived: int = 0
    refused: int = 0
    applied: int = 0
    conflicts: int = 0
    resyncs: int = 0
    last_error: str = ""


class CatalogSyncSettings(Protocol):
    """The settings a CatalogSync run takes (tillflow.settings.Settings has them)."""

    catalog_sync_debounce_ms: int
    catalog_sync_max_delay_ms: int
    catalog_sync_poll_ms: int


def sync_request(settings: CatalogSyncSettings, store_code: str) -> CatalogSyncRequest:
    return CatalogSyncRequest(
        store_code=store_code,
        debounce_ms=settings.catalog_sync_debounce_ms,
        max_delay_ms=settings.catalog_sync_max_delay_ms,
        poll_ms=settings.catalog_sync_poll_ms,
    )


# ---- client side ------------------------------------------------------------------------------


async def start_catalog_sync(
    client: Client, req: CatalogSyncRequest, *, task_queue: str = TASK_QUEUE
) -> None:
    """The store's CatalogSync, once (a running one is kept)."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            CATALOG_SYNC_WORKFLOW,
            req,
            id=catalog_sync_workflow_id(req.store_code),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


async def start_catalog_syncs(
    client: Client,
    store_codes: Iterable[str],
    settings: CatalogSyncSettings,
    *,
    task_queue: str = TASK_QUEUE,
) -> int:
    """One CatalogSync per connected Shopify / WooCommerce store (at worker start-up)."""
    n = 0
    for code in store_codes:
        await start_catalog_sync(client, sync_request(settings, code), task_queue=task_queue)
        n += 1
    return n


async def signal_changed(client: Client, store_code: str, reason: str = "") -> bool:
    """Nudge the store's running CatalogSync; False when none runs (the worker starts one per
    connected store, and a resync request starts it too)."""
    try:
        await client.get_workflow_handle(catalog_sync_workflow_id(store_code)).signal(
            CHANGED_SIGNAL, CatalogChanged(reason=reason)
        )
    except RPCError:
        return False
    return True


async def request_resync(
    client: Client,
    req: CatalogSyncRequest,
    requested_by: str = "",
    *,
    products: tuple[str, ...] = (),
    task_queue: str = TASK_QUEUE,
) -> str:
    """Ask the store's CatalogSync for a full resync, or one of some products (starting it if
    needed); its workflow id."""
    handle = await client.start_workflow(
        CATALOG_SYNC_WORKFLOW,
        req,
        id=catalog_sync_workflow_id(req.store_code),
        task_queue=task_queue,
        start_signal=RESYNC_SIGNAL,
        start_signal_args=[ResyncAsked(requested_by=requested_by, products=products)],
    )
    return handle.id


async def sync_status(client: Client, store_code: str) -> CatalogSyncStatus | None:
    """The running CatalogSync's counters, or None when none runs."""
    handle = client.get_workflow_handle(catalog_sync_workflow_id(store_code))
    try:
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            return None
        return await handle.query(STATUS_QUERY, result_type=CatalogSyncStatus)
    except RPCError:
        return None
