"""The floors a sale is compared with: a bare PostgreSQL transaction, a minimal Temporal run."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from _floor_workflow import FLOOR_TASK_QUEUE, FloorRequest, FloorSaleWorkflow, FloorWorkflow
from _tills import SaleTiming, basket
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.worker import Worker

from db.models import User
from db.pricing import BasketItem, price_for_till
from db.repositories import catalog, orders, stock
from db.session import Database
from domain.pricing import Quote
from tillflow.temporal import SEARCH_ATTRIBUTE_KEYS
from tillflow.workers import sandbox_runner, write_bytecode

_STORE, _TILL, _CHANNEL, _ORDER = SEARCH_ATTRIBUTE_KEYS
FLOOR_TILL = "BER1"


# ---- bare PostgreSQL ---------------------------------------------------------------------


def _quotes(
    db: Database, count: int, prices: dict[str, int], seed: int
) -> tuple[catalog.TillView, int, list[Quote]]:
    """Priced baskets like the sales', prepared outside the timed part."""
    rng = random.Random(seed)
    skus = sorted(prices)
    with db.unit_of_work() as s:
        till = catalog.till_view(s, FLOOR_TILL)
        cashier = s.scalar(select(User.id).where(User.staff_code == "1001"))
        assert till is not None and cashier is not None
        quotes = [
            price_for_till(
                s, till, [BasketItem(sku, qty) for sku, qty in basket(rng, prices, skus).lines]
            )
            for _ in range(count)
        ]
    return till, cashier, quotes


def _stock_and_order(db: Database, till: catalog.TillView, cashier: int, quote: Quote) -> None:
    """The sale's stock decrement and order insert as one plain transaction."""
    wf = f"bench-floor:pg:{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    moves = [
        stock.Movement(ln.sku, -ln.quantity, "sale", wf, f"{wf}:stock:{ln.line_no}")
        for ln in quote.lines
    ]
    with db.unit_of_work() as s:
        stock.apply_movements(s, till.location_id, moves, workflow_id=wf, occurred_at=now)
        orders.insert_order(
            s,
            orders.NewOrder(
                workflow_id=wf,
                number_prefix="PGFLOOR",
                channel="store",
                fulfilment_type="in_store",
                status="completed",
                location_id=till.location_id,
                till_id=till.till_id,
                cashier_id=cashier,
                currency=quote.currency,
                subtotal=quote.subtotal,
                tax_total=quote.tax_total,
                total=quote.total,
                change_due=0,
                warnings=[],
                placed_at=now,
                lines=[orders.NewOrderLine(**ln.__dict__) for ln in quote.lines],
            ),
        )


def postgres_floor(
    db: Database, count: int, warmup: int, prices: dict[str, int], seed: int
) -> list[float]:
    """Seconds per transaction, sequentially, on one warm pooled connection."""
    till, cashier, quotes = _quotes(db, count + warmup, prices, seed)
    timings = []
    for i, quote in enumerate(quotes):
        t0 = time.perf_counter()
        _stock_and_order(db, till, cashier, quote)
        if i >= warmup:
            timings.append(time.perf_counter() - t0)
    return timings


# ---- Temporal ----------------------------------------------------------------------------


@activity.defn(name="bench.noop")
def noop(req: FloorRequest) -> None:
    """Does nothing: the floor measures Temporal, not work."""


def floor_worker(client: Client, pool: ThreadPoolExecutor) -> Worker:
    """The floor's worker in this process, on its own queue, built like the sales worker (the
    floor workflow, like the Sale, opts out of the sandbox; the runner is there for the rest)."""
    write_bytecode(Path(__file__).parent)
    return Worker(
        client,
        task_queue=FLOOR_TASK_QUEUE,
        workflows=[FloorWorkflow],
        activities=[noop],
        activity_executor=pool,
        workflow_runner=sandbox_runner(),
        max_concurrent_local_activities=4,
    )


def _search_attributes(workflow_id: str) -> TypedSearchAttributes:
    """The same four keyword attributes a sale carries."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(_STORE, "BER"),
            SearchAttributePair(_TILL, FLOOR_TILL),
            SearchAttributePair(_CHANNEL, "bench"),
            SearchAttributePair(_ORDER, workflow_id),
        ]
    )


async def update_with_start(client: Client, workflow_id: str) -> None:
    """Started exactly like a sale: update-with-start, waiting for the checkout update."""
    start = WithStartWorkflowOperation(
        FloorWorkflow.run,
        FloorRequest(workflow_id),
        id=workflow_id,
        task_queue=FLOOR_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=_search_attributes(workflow_id),
    )
    await client.execute_update_with_start_workflow(
        FloorWorkflow.checkout, start_workflow_operation=start
    )


async def eager_start(client: Client, workflow_id: str) -> bool:
    """Start with request_eager_start and wait for the result; True if it started eagerly."""
    handle = await client.start_workflow(
        FloorWorkflow.run,
        FloorRequest(workflow_id),
        id=workflow_id,
        task_queue=FLOOR_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=_search_attributes(workflow_id),
        request_eager_start=True,
    )
    await handle.result()
    # The SDK marks eagerly started handles with this attribute (set via setattr, unmangled).
    return bool(getattr(handle, "__temporal_eagerly_started", False))


async def temporal_floor(
    client: Client, count: int, warmup: int, *, eager: bool, pause: float = 0.0
) -> tuple[list[SaleTiming], int]:
    """Sequential runs (update-with-start, or eager start + result), `pause` seconds before each
    as the 1-till scenario has, and how many ran eagerly."""
    timings: list[SaleTiming] = []
    eagerly = 0
    kind = "eager" if eager else "uws"
    with ThreadPoolExecutor(max_workers=4) as pool:
        async with floor_worker(client, pool):
            for i in range(count + warmup):
                if pause:
                    await asyncio.sleep(pause)
                wf = f"bench-floor:{kind}:{uuid.uuid4().hex[:12]}"
                sent, t0 = time.time(), time.perf_counter()
                started_eagerly = False
                if eager:
                    started_eagerly = await eager_start(client, wf)
                else:
                    await update_with_start(client, wf)
                seconds = time.perf_counter() - t0
                if i >= warmup:
                    timings.append(SaleTiming(wf, sent, time.time(), seconds))
                    eagerly += started_eagerly
    return timings, eagerly


def seconds_of(timings: Sequence[SaleTiming]) -> list[float]:
    """The measured latencies alone."""
    return [t.seconds for t in timings]


# ---- Temporal, at N callers and in the sale's shape (issue 21) ----------------------------


def floor_shape_worker(client: Client, pool: ThreadPoolExecutor) -> Worker:
    """`floor_worker` with the sale-shaped floor (a device step after the answer) as well."""
    write_bytecode(Path(__file__).parent)
    return Worker(
        client,
        task_queue=FLOOR_TASK_QUEUE,
        workflows=[FloorWorkflow, FloorSaleWorkflow],
        activities=[noop],
        activity_executor=pool,
        workflow_runner=sandbox_runner(),
        max_concurrent_local_activities=8,
    )


async def update_with_start_shape(client: Client, workflow_id: str, shape: bool) -> None:
    """`update_with_start`, of the sale-shaped floor when `shape` (else the bare one)."""
    if not shape:
        await update_with_start(client, workflow_id)
        return
    start = WithStartWorkflowOperation(
        FloorSaleWorkflow.run,
        FloorRequest(workflow_id),
        id=workflow_id,
        task_queue=FLOOR_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=_search_attributes(workflow_id),
    )
    await client.execute_update_with_start_workflow(
        FloorSaleWorkflow.checkout, start_workflow_operation=start
    )


async def _drained(client: Client, query: str, timeout: float = 60) -> None:
    """Wait until no workflow matches `query` (or `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while (await client.count_workflows(query)).count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


async def temporal_floor_callers(
    client: Client,
    count: int,
    warmup: int,
    *,
    callers: int = 1,
    shape: bool = True,
    pause: float = 0.0,
) -> tuple[list[SaleTiming], float]:
    """`callers` concurrent callers of `count` sequential update-with-start runs each (`pause`
    seconds before each), as the tills ring up sales, after `warmup` runs per caller that are not
    counted; the measured runs and their wall time. `shape`: the sale-shaped floor (a device step
    after the answer), else the bare one."""
    kind = "shape" if shape else "uws"

    async def caller(n: int, runs: int, tag: str) -> list[SaleTiming]:
        out: list[SaleTiming] = []
        for _ in range(runs):
            if pause:
                await asyncio.sleep(pause)
            wf = f"bench-floor:{kind}{callers}{tag}:{n}:{uuid.uuid4().hex[:12]}"
            sent, t0 = time.time(), time.perf_counter()
            await update_with_start_shape(client, wf, shape)
            out.append(SaleTiming(wf, sent, time.time(), time.perf_counter() - t0))
        return out

    with ThreadPoolExecutor(max_workers=max(4, callers)) as pool:
        async with floor_shape_worker(client, pool):
            await asyncio.gather(*(caller(n, warmup, "w") for n in range(callers)))
            t0 = time.perf_counter()
            per_caller = await asyncio.gather(*(caller(n, count, "") for n in range(callers)))
            wall = time.perf_counter() - t0
            # The device steps after the last answers run on this worker: let them finish.
            await _drained(client, 'WorkflowType="BenchFloorSale" AND ExecutionStatus="Running"')
    return [t for c in per_caller for t in c], wall
