"""Offline replay: one till's 1,000-entry offline journal uploaded and applied exactly once while
four other tills keep selling over HTTP.

    .venv/bin/python bench/offline_replay.py [--entries 1000] [--batch 25] [--live-sales 40]
        [--pause-ms 1000] [--replay-queue tillflow-offline-replay] [--window 8] [--max-tasks 2]

Starts its own stack as bench/sale_latency.py does (embedded PostgreSQL, the Temporal dev server
with the same lifted poll limits, the central worker at TILLFLOW_WORKER_NICE, device workers for
the four live tills, the API), on free ports in a temp dir, and removes all of it at the end.

1. Unloaded: the four live tills (LIS1-LIS4, each with its own cashier) ring up `--live-sales`
   cash sales each, `--pause-ms` apart (the next customer stepping up): their p50 / p99, the
   floor the loaded figures are compared with.
2. Loaded: BER2, back online, uploads its journal of `--entries` offline cash sales the way the
   till agent does (batches of `--batch`, each POST /tills/BER2/journal waiting up to 20 s and
   sent again while entries are pending), while the four live tills keep selling at the same pace
   until the journal is applied. The replay runs on TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE
   (`--replay-queue`; '' = the sales queue, as before issue 21) with TILLFLOW_OFFLINE_REPLAY_WINDOW
   entries at once and TILLFLOW_OFFLINE_REPLAY_MAX_TASKS workflow tasks at once.
3. Checks exactly once: every entry `applied`, one order per entry under its own sale id, one
   stock movement per line, BER's on-hand down by exactly the journal's units (the live tills sell
   at LIS), the stock ledger balanced, each order's payments equal to its total.

Targets (issue 21): the journal applied in <= 60 s; the live tills' p99 <= 2x their unloaded p99.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _cpu import CpuMeter, CpuUse
from _report import cpu_table, percentile
from _stack import (
    LIFTED_THROTTLES,
    Stack,
    StackError,
    check_children,
    child_env,
    seed,
    seed_env,
    services,
    start_app,
)
from _tills import (
    SaleFailed,
    SaleTiming,
    TillSession,
    add_bench_tills,
    open_shifts,
    run_till,
    shelf_prices,
    sign_in,
)
from sqlalchemy import func, select

from contracts.sale import sale_workflow_id
from db.models import Order, Payment, StockMovement
from db.repositories import stock
from db.session import Database

LIVE_TILLS = ("LIS1", "LIS2", "LIS3", "LIS4")  # sell at LIS: BER's stock is the journal's alone
REPLAY_TILL, REPLAY_STORE, REPLAY_STAFF, REPLAY_PIN, REPLAY_CASHIER = (
    "BER2",
    "BER",
    "1002",
    "2345",
    "cora",
)
DEFAULT_QUEUE = "tillflow-offline-replay"
TARGET_SECONDS = 60.0
TARGET_P99_RATIO = 2.0
UPLOAD_WAIT_S = 20  # the till agent's upload_wait (tills/config.py)


@dataclass
class Results:
    unloaded: list[SaleTiming] = field(default_factory=list)
    loaded: list[SaleTiming] = field(default_factory=list)
    unloaded_wall: float = 0.0
    loaded_wall: float = 0.0
    replay_wall: float = 0.0
    posts: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    cpu: list[CpuUse] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--entries", type=int, default=1000, help="offline sales in the journal")
    p.add_argument(
        "--batch", type=int, default=25, help="entries per upload (the till agent's upload_batch)"
    )
    p.add_argument(
        "--live-sales", type=int, default=40, help="sales per live till in the unloaded run"
    )
    p.add_argument(
        "--pause-ms", type=float, default=1000.0, help="pause before each live sale (per till)"
    )
    p.add_argument(
        "--replay-queue",
        default=DEFAULT_QUEUE,
        help="TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE ('' = the sales queue, as before issue 21)",
    )
    p.add_argument("--window", type=int, default=8, help="TILLFLOW_OFFLINE_REPLAY_WINDOW")
    p.add_argument("--max-tasks", type=int, default=2, help="TILLFLOW_OFFLINE_REPLAY_MAX_TASKS")
    p.add_argument("--seed", type=int, default=21)
    return p.parse_args(argv)


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def journal(count: int, prices: dict[str, int], start: datetime, rng: random.Random) -> list[Any]:
    """Offline cash sales as the till journals them, 50 ms apart from `start` (inside the till's
    offline window), priced as the catalogue the till had, paid with whole notes."""
    skus = sorted(prices)
    out = []
    for i in range(count):
        lines = [(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.randint(1, 3))]
        total = sum(prices[s] * q for s, q in lines)
        cash = (total // 500 + 1) * 500
        out.append(
            {
                "client_sale_id": f"off-{uuid.uuid4().hex[:10]}-{i}",
                "sold_at": (start + timedelta(milliseconds=50 * i)).isoformat(),
                "cashier": REPLAY_CASHIER,
                "lines": [{"sku": s, "quantity": q, "unit_price": prices[s]} for s, q in lines],
                "tenders": [{"kind": "cash", "amount": total, "tendered": cash}],
                "total": total,
                "change_due": cash - total,
            }
        )
    return out


async def upload(
    api_url: str, headers: dict[str, str], entries: list[Any], batch: int, res: Results
) -> None:
    """As the till agent uploads: the oldest `batch` entries, sent again while any is pending."""
    import hashlib

    async with httpx.AsyncClient(base_url=api_url, timeout=UPLOAD_WAIT_S + 30) as http:
        for at in range(0, len(entries), batch):
            part = entries[at : at + batch]
            ids = [e["client_sale_id"] for e in part]
            batch_id = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:24]
            while True:
                res.posts += 1
                r = await http.post(
                    f"/tills/{REPLAY_TILL}/journal",
                    params={"wait": UPLOAD_WAIT_S},
                    json={"batch_id": batch_id, "entries": part},
                    headers=headers,
                )
                if r.status_code not in (200, 202):
                    raise SaleFailed(f"journal upload answered {r.status_code}: {r.text[:300]}")
                answer = r.json()
                if answer["complete"]:
                    res.statuses.update(e["status"] for e in answer["entries"])
                    break


async def keep_selling(
    api_url: str,
    sessions: Sequence[TillSession],
    prices: dict[str, int],
    pause: float,
    until: asyncio.Event,
    seed_: int,
) -> list[SaleTiming]:
    """The live tills selling, one sale at a time each, until `until` is set."""

    async def till(i: int, s: TillSession) -> list[SaleTiming]:
        out: list[SaleTiming] = []
        n = 0
        while not until.is_set():
            out += await run_till(
                api_url, s, 1, prices, seed_ * 1000 + i * 100 + n, "loaded", pause
            )
            n += 1
        return out

    per = await asyncio.gather(*(till(i, s) for i, s in enumerate(sessions)))
    return [t for p in per for t in p]


def verify(db: Database, entries: list[Any], before: dict[str, int], res: Results) -> None:
    """Every entry applied exactly once, BER's stock and ledger exact, payments = totals."""
    ids = {sale_workflow_id(REPLAY_TILL, e["client_sale_id"]): e for e in entries}
    units: Counter[str] = Counter()
    for e in entries:
        for ln in e["lines"]:
            units[ln["sku"]] += ln["quantity"]
    with db.unit_of_work() as s:
        orders = s.execute(
            select(Order.workflow_id, Order.total, Order.placed_at).where(
                Order.workflow_id.in_(list(ids))
            )
        ).all()
        moves = Counter(
            s.scalars(
                select(StockMovement.workflow_id).where(StockMovement.workflow_id.in_(list(ids)))
            )
        )
        paid = dict(
            s.execute(
                select(Payment.workflow_id, func.sum(Payment.amount))
                .where(Payment.workflow_id.in_(list(ids)))
                .group_by(Payment.workflow_id)
            ).all()
        )
        after = _on_hand(s, sorted(units))
        mismatches = stock.ledger_mismatches(s)
    if res.statuses.get("applied", 0) != len(entries):
        res.problems.append(f"answers {dict(res.statuses)}, expected {len(entries)} applied")
    if len(orders) != len(ids):
        res.problems.append(f"{len(orders)} orders for {len(ids)} entries")
    for wf, total, placed_at in orders:
        e = ids[wf]
        if total != e["total"]:
            res.problems.append(f"{wf}: total {total}, journal {e['total']}")
        if placed_at != datetime.fromisoformat(e["sold_at"]):
            res.problems.append(f"{wf}: placed at {placed_at}, sold at {e['sold_at']}")
        if moves.get(wf, 0) != len(e["lines"]):
            res.problems.append(
                f"{wf}: {moves.get(wf, 0)} stock movements, {len(e['lines'])} lines"
            )
        if paid.get(wf) != total:
            res.problems.append(f"{wf}: payments {paid.get(wf)}, total {total}")
    for sku, n in units.items():
        if before[sku] - after[sku] != n:
            res.problems.append(
                f"{sku} at {REPLAY_STORE}: down {before[sku] - after[sku]}, sold {n}"
            )
    if mismatches:
        res.problems.append(f"stock ledger mismatches: {mismatches[:3]}")


def _on_hand(s: Any, skus: Sequence[str]) -> dict[str, int]:
    from db.models import Location

    loc = s.scalar(select(Location.id).where(Location.code == REPLAY_STORE))
    out = {}
    for sku in skus:
        level = stock.level(s, loc, sku)
        out[sku] = level.on_hand if level else 0
    return out


def replay_worker_wired() -> bool:
    """Whether `tillflow worker` runs the replay worker itself (tillflow/replay_worker.py)."""
    import tillflow.cli

    return "offline_replay_worker" in inspect.getsource(tillflow.cli)


def spawn_replay_worker(stack: Stack) -> None:
    """The replay worker as its own process (at the central worker's priority) while `tillflow
    worker` does not run it."""
    env = child_env(stack, 0)
    out = (stack.logs / "replay-worker.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_replay_worker.py"))],
        env=env,
        cwd=stack.var_dir,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    stack.children.append(("replay-worker", proc))


def groups(stack: Stack) -> dict[str, list[int]]:
    g = stack.process_groups()
    g["replay worker (own process)"] = [p.pid for n, p in stack.children if n == "replay-worker"]
    return g


def ms(timings: Sequence[SaleTiming], q: float) -> float:
    return percentile([t.seconds * 1000 for t in timings], q)


async def measure(stack: Stack, args: argparse.Namespace, res: Results) -> None:
    db = Database(stack.database_url, pool_size=2)
    try:
        prices = shelf_prices(db, REPLAY_STORE)
        live_prices = shelf_prices(db, "LIS")
        sessions = await sign_in(stack.api_url, LIVE_TILLS)
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
            r = await http.post(
                f"/tills/{REPLAY_TILL}/login",
                json={"staff_code": REPLAY_STAFF, "pin": REPLAY_PIN},
            )
            if r.status_code != 200:
                raise StackError(f"sign-in at {REPLAY_TILL} failed: {r.status_code} {r.text}")
            replay_headers = {"Authorization": f"Bearer {r.json()['token']}"}
        # The replay till's shift was opened before it went offline; the live tills' now.
        await open_shifts(stack.api_url, [*sessions, TillSession(REPLAY_TILL, replay_headers)])
        # The till's offline sales, after its cashier signed in (its offline window starts there).
        entries = journal(args.entries, prices, datetime.now(UTC), random.Random(args.seed))
        units = sorted({ln["sku"] for e in entries for ln in e["lines"]})
        with db.unit_of_work() as s:
            before = _on_hand(s, units)
        pause = args.pause_ms / 1000
        step("warming up: 3 sales per live till")
        await asyncio.gather(
            *(
                run_till(stack.api_url, s, 3, live_prices, 90 + i, "warm")
                for i, s in enumerate(sessions)
            )
        )
        step(
            f"unloaded: {len(sessions)} live tills x {args.live_sales} sales, "
            f"{args.pause_ms:.0f} ms apart"
        )
        meter = CpuMeter(groups(stack))
        t0 = time.perf_counter()
        per = await asyncio.gather(
            *(
                run_till(
                    stack.api_url,
                    s,
                    args.live_sales,
                    live_prices,
                    args.seed * 10 + i,
                    "unloaded",
                    pause,
                )
                for i, s in enumerate(sessions)
            )
        )
        res.unloaded_wall = time.perf_counter() - t0
        res.unloaded = [t for p in per for t in p]
        res.cpu.append(meter.done("unloaded", len(res.unloaded)))
        check_children(stack)
        step(f"loaded: {REPLAY_TILL} uploads {len(entries)} entries in batches of {args.batch}")
        meter = CpuMeter(groups(stack))
        done = asyncio.Event()
        t0 = time.perf_counter()
        sellers = asyncio.create_task(
            keep_selling(stack.api_url, sessions, live_prices, pause, done, args.seed)
        )
        try:
            await upload(stack.api_url, replay_headers, entries, args.batch, res)
            res.replay_wall = time.perf_counter() - t0
        finally:
            done.set()
            res.loaded = await sellers
        res.loaded_wall = time.perf_counter() - t0
        res.cpu.append(meter.done("loaded", len(res.loaded) + len(entries)))
        check_children(stack)
        step("checking every entry was applied exactly once")
        verify(db, entries, before, res)
    finally:
        db.dispose()


def report(
    res: Results, args: argparse.Namespace, entries: int, load_before: str, where: str
) -> str:
    u50, u99 = ms(res.unloaded, 50), ms(res.unloaded, 99)
    l50, l99 = ms(res.loaded, 50), ms(res.loaded, 99)
    ratio = l99 / u99 if u99 else 0.0
    queue = args.replay_queue or "the sales queue (tillflow-sales)"
    lines = [
        f"offline replay: {entries} journal entries from {REPLAY_TILL} in batches of {args.batch}, "
        f"while {len(LIVE_TILLS)} tills sell {args.pause_ms:.0f} ms apart; {os.cpu_count()} cores",
        f"  replay on {queue}, window {args.window}, max {args.max_tasks} workflow tasks; {where}",
        f"  {'':<28}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'sales/s':>9}",
        f"  {'live tills, unloaded':<28}{len(res.unloaded):>6}{u50:9.1f}{u99:9.1f}"
        f"{ms(res.unloaded, 100):9.1f}{len(res.unloaded) / res.unloaded_wall:9.1f}",
        f"  {'live tills, during replay':<28}{len(res.loaded):>6}{l50:9.1f}{l99:9.1f}"
        f"{ms(res.loaded, 100):9.1f}{len(res.loaded) / res.loaded_wall:9.1f}",
        f"  live p99 during / unloaded      {ratio:6.2f} x   (target <= {TARGET_P99_RATIO:.0f} x: "
        f"{'met' if ratio <= TARGET_P99_RATIO else 'MISSED'})",
        f"  journal applied in              {res.replay_wall:6.1f} s   "
        f"({entries / res.replay_wall:.1f} entries/s, {res.posts} uploads; target <= "
        f"{TARGET_SECONDS:.0f} s: {'met' if res.replay_wall <= TARGET_SECONDS else 'MISSED'})",
        f"  answers                         {dict(sorted(res.statuses.items()))}",
        "  exactly once                    "
        + ("yes" if not res.problems else "NO: " + "; ".join(res.problems[:5])),
        f"  load average before / after     {load_before} / {_load()}",
        "",
        "CPU ms per sale by process (loaded: live sales + journal entries):",
        cpu_table(res.cpu),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = _load()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.environ["TILLFLOW_OFFLINE_REPLAY_TASK_QUEUE"] = args.replay_queue
    os.environ["TILLFLOW_OFFLINE_REPLAY_WINDOW"] = str(args.window)
    os.environ["TILLFLOW_OFFLINE_REPLAY_MAX_TASKS"] = str(args.max_tasks)
    res = Results()
    try:
        with services(LIFTED_THROTTLES) as stack:
            step(f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}")
            step("migrating and seeding the demo retailer")
            seed(stack, seed_env(stack))
            db = Database(stack.database_url, pool_size=1)
            try:
                add_bench_tills(db, str(stack.var_dir / "receipts"))
            finally:
                db.dispose()
            step(
                f"starting the central worker, device workers for {', '.join(LIVE_TILLS)}, the API"
            )
            start_app(stack, list(LIVE_TILLS))
            where = (
                "replay worker in the central worker"
                if args.replay_queue
                else "run by the sales workers (the API's in-process one and the central worker's)"
            )
            if args.replay_queue and not replay_worker_wired():
                spawn_replay_worker(stack)
                where = "replay worker in a process of its own (not yet in `tillflow worker`)"
            asyncio.run(measure(stack, args, res))
            print("\n" + report(res, args, args.entries, load_before, where) + "\n", flush=True)
            step("stopping everything")
    except KeyboardInterrupt:
        print(
            "\ninterrupted; everything the benchmark started is stopped and removed",
            file=sys.stderr,
        )
        return 130
    except (StackError, SaleFailed) as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        return 1
    step("done; temp dir removed")
    return 0 if not res.problems else 1


if __name__ == "__main__":
    sys.exit(main())
