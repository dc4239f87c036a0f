"""The webhook storm's Temporal floor: an order-shaped workflow that does no work of its own.

Same shape as an OnlineOrder from a web store up to "reserved, fulfilment started": started by
signal-with-start (the delivery's event as the start signal), three local activities (accept,
route, reserve; no-ops here), then one child on a queue of its own that, like a fulfilment
child, waits for staff; the parent waits for it. Run outside the sandbox, as OnlineOrder runs.
The worker lives in the benchmark process; the third step records when each order got there,
which is the moment the storm counts an order as processed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.worker import Worker

STORM_FLOOR_QUEUE = "tillflow-bench-storm-floor"
STORM_FLOOR_CHILD_QUEUE = "tillflow-bench-storm-floor-child"
STEP_ACTIVITY = "bench.storm_step"
STEPS = ("accept", "route", "reserve")  # the local activities of a web store's order
HAND_OVERS_IN_FLIGHT = 8  # as the API's HandOver (api/webstore_deliveries.py)


@dataclass(frozen=True)
class FloorOrder:
    order_id: int
    body: str  # the delivery as the web store sent it: a start payload of the order's size


@dataclass(frozen=True)
class FloorEvent:
    topic: str
    version_us: int


@dataclass(frozen=True)
class FloorStep:
    order_id: int
    step: str


@workflow.defn(name="BenchStormFloorChild", sandboxed=False)
class StormFloorChild:
    """Waits for staff, as a fulfilment child does (nobody comes during the benchmark)."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, order_id: int) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.signal
    def done(self) -> None:
        self._done = True


@workflow.defn(name="BenchStormFloor", sandboxed=False)
class StormFloorWorkflow:
    """Three no-op local activities, one child, then wait for it."""

    def __init__(self) -> None:
        self._events = 0

    @workflow.run
    async def run(self, order: FloorOrder) -> None:
        for step in STEPS:
            await workflow.execute_local_activity(
                STEP_ACTIVITY,
                FloorStep(order.order_id, step),
                start_to_close_timeout=timedelta(seconds=10),
            )
        child = await workflow.start_child_workflow(
            StormFloorChild.run,
            order.order_id,
            id=f"{workflow.info().workflow_id}:child",
            task_queue=STORM_FLOOR_CHILD_QUEUE,
        )
        await child

    @workflow.signal
    def event(self, event: FloorEvent) -> None:
        self._events += 1


class StormFloor:
    """The floor's workers and what they saw."""

    def __init__(self) -> None:
        self.reserved: dict[int, float] = {}  # order id -> time.time() when its last step ran

    def step(self, s: FloorStep) -> None:
        if s.step == STEPS[-1]:
            self.reserved.setdefault(s.order_id, time.time())

    def workers(self, client: Client, pool: ThreadPoolExecutor) -> list[Worker]:
        from tillflow.workers import sandbox_runner, write_bytecode

        write_bytecode(Path(__file__).parent)
        seen = self.step

        @activity.defn(name=STEP_ACTIVITY)
        def step(s: FloorStep) -> None:
            seen(s)

        return [
            Worker(
                client,
                task_queue=STORM_FLOOR_QUEUE,
                workflows=[StormFloorWorkflow],
                activities=[step],
                activity_executor=pool,
                workflow_runner=sandbox_runner(),
                max_concurrent_local_activities=16,
            ),
            Worker(
                client,
                task_queue=STORM_FLOOR_CHILD_QUEUE,
                workflows=[StormFloorChild],
                workflow_runner=sandbox_runner(),
            ),
        ]


async def serve(address: str, count: int, out: Path, timeout: float) -> None:
    """The floor's worker process: run until `count` orders ran their last step, then write the
    time the last one did (time.time()) to `out`."""
    from tillflow.temporal import connect

    client = await connect(address)
    floor = StormFloor()
    with ThreadPoolExecutor(max_workers=16) as pool:
        workers = floor.workers(client, pool)
        runs = [asyncio.create_task(w.run()) for w in workers]
        out.with_suffix(".ready").write_text("ready")
        deadline = time.monotonic() + timeout
        try:
            while len(floor.reserved) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            for w in workers:
                await w.shutdown()
            await asyncio.gather(*runs, return_exceptions=True)
    last = max(floor.reserved.values()) if len(floor.reserved) >= count else 0.0
    out.with_suffix(".tmp").write_text(f"{last} {len(floor.reserved)}")
    out.with_suffix(".tmp").rename(out)
    # Stay until the benchmark has read this process's CPU time (it removes the ready file).
    deadline = time.monotonic() + 60
    while out.with_suffix(".ready").exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def release(out: Path) -> None:
    """Let the floor's worker process exit (after its CPU time was read)."""
    out.with_suffix(".ready").unlink(missing_ok=True)


def start_worker(
    address: str, count: int, out: Path, nice: int, log: Path
) -> subprocess.Popen[bytes]:
    """The floor's worker in a process of its own at the central worker's CPU priority (as the
    OnlineOrders run), ready to take work when this returns."""
    with log.open("ab") as f:
        proc = subprocess.Popen(
            [sys.executable, __file__, address, str(count), str(out), str(nice)],
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ready = out.with_suffix(".ready")
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the floor's worker did not start; see {log}")
        time.sleep(0.05)
    return proc


async def storm_floor(
    client: Client,
    orders: Sequence[tuple[float, int, str]],
    proc: subprocess.Popen[bytes],
    out: Path,
    timeout: float = 600,
) -> tuple[float, float]:
    """Start each order at its offset (seconds from the start) by signal-with-start, at most
    HAND_OVERS_IN_FLIGHT at a time as the API hands deliveries over, and wait until the worker
    process saw every order run its last step. Returns (send seconds, process seconds)."""
    gate = asyncio.Semaphore(HAND_OVERS_IN_FLIGHT)
    run = f"{time.time_ns():x}"

    async def start(order_id: int, body: str) -> None:
        async with gate:
            await client.start_workflow(
                StormFloorWorkflow.run,
                FloorOrder(order_id, body),
                id=f"bench-storm-floor:{run}:{order_id}",
                task_queue=STORM_FLOOR_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                start_signal="event",
                start_signal_args=[FloorEvent("orders/create", order_id)],
            )

    wall0, t0 = time.time(), time.perf_counter()
    tasks = []
    for at, order_id, body in orders:
        delay = t0 + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(start(order_id, body)))
    await asyncio.gather(*tasks)
    sent = time.perf_counter() - t0
    deadline = time.monotonic() + timeout
    while not out.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise TimeoutError("the floor's worker did not finish")
        await asyncio.sleep(0.05)
    last, seen = out.read_text().split()
    if float(last) <= 0:
        raise RuntimeError(f"the floor's worker saw only {seen} of {len(orders)} orders")
    return sent, float(last) - wall0


if __name__ == "__main__":
    _address, _count, _out, _nice = sys.argv[1:5]
    if int(_nice):
        os.nice(int(_nice))
    asyncio.run(serve(_address, int(_count), Path(_out), 600))
