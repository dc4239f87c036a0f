"""Sale checkout latency through the real path (HTTP API -> Sale workflow -> activities -> device
worker) at 1 and N tills, compared with a bare PostgreSQL floor and a minimal Temporal floor.

    .venv/bin/python bench/sale_latency.py [--sales 200] [--tills 8] [--pause-ms 150] \
[--default-throttles]

The 1-till scenario leaves `--pause-ms` before each sale (the next customer steps up while the
last receipt prints), and so do the Temporal floors it is compared with; it also runs back to
back, for information. The N-till scenario always runs back to back (throughput).

Starts its own embedded PostgreSQL, Temporal dev server, workers and API on free ports in a temp
dir, and stops and removes all of it at the end (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from _breakdown import breakdown, median_phases
from _cpu import CpuMeter, CpuUse
from _floors import postgres_floor, seconds_of, temporal_floor
from _report import Row, cpu_table, phase_table, table, target_lines, targets
from _stack import (
    LIFTED_THROTTLES,
    THROTTLE_DEFAULTS,
    WORKER_NICE,
    Stack,
    StackError,
    check_children,
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
    run_till,
    shelf_prices,
    sign_in,
    tills_for,
)
from sqlalchemy import func, select
from temporalio.client import Client

from db.models import Order
from db.session import Database
from tillflow.embedded import DEV_SERVER_SQLITE_PRAGMAS, temporal_binary
from tillflow.temporal import connect

FLOOR_WARMUP = 10


@dataclass
class Results:
    """Everything measured in one run."""

    tills: int
    pause: float
    one: list[SaleTiming] = field(default_factory=list)
    one_wall: float = 0.0
    one_b2b: list[SaleTiming] = field(default_factory=list)  # 1 till, back to back [info]
    many: list[SaleTiming] = field(default_factory=list)
    many_wall: float = 0.0
    pg: list[float] = field(default_factory=list)
    floor: list[SaleTiming] = field(default_factory=list)
    floor_b2b: list[SaleTiming] = field(default_factory=list)  # back to back [info]
    eager: list[SaleTiming] = field(default_factory=list)
    eagerly_started: int = 0
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    orders_recorded: int = 0
    sales_sent: int = 0
    cpu: list[CpuUse] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the issue's scenarios."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sales", type=int, default=200, help="sales per till in each scenario (default 200)"
    )
    p.add_argument(
        "--tills", type=int, default=8, help="tills in the concurrent scenario (default 8)"
    )
    p.add_argument("--warmup", type=int, default=20, help="warm-up sales, not counted (default 20)")
    p.add_argument(
        "--pause-ms",
        type=float,
        default=150,
        help="pause before each sale of the 1-till scenario and each Temporal floor run "
        "(default 150: no cashier serves the next customer sooner; 0 = back to back only)",
    )
    p.add_argument("--floor-runs", type=int, default=200, help="runs of each floor (default 200)")
    p.add_argument("--seed", type=int, default=7, help="random seed for the baskets")
    p.add_argument(
        "--sqlite-pragma",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="passed to the dev server instead of `tillflow up`'s "
        f"({' '.join(DEV_SERVER_SQLITE_PRAGMAS)}); `--sqlite-pragma none` for "
        "the dev server's own defaults",
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICE,
        help="CPU priority (nice) of the central worker, as TILLFLOW_WORKER_NICE under "
        f"`tillflow up` (default {WORKER_NICE}; 0 = the same as the API)",
    )
    p.add_argument(
        "--default-throttles",
        action="store_true",
        help="keep the dev server's per-shard poll limits (20/s); do not lift them",
    )
    return p.parse_args(argv)


def sqlite_pragmas(given: list[str]) -> list[str]:
    """The dev server's SQLite pragmas: `tillflow up`'s unless given; `none` for its own
    defaults."""
    if not given:
        return list(DEV_SERVER_SQLITE_PRAGMAS)
    return [] if given == ["none"] else given


def step(text: str) -> None:
    """A timestamped progress line."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def prepare(stack: Stack, tills: list[str]) -> None:
    """Seed the demo retailer, add the benchmark's tills and cashiers, start workers and the API."""
    step("migrating and seeding the demo retailer")
    seed(stack, seed_env(stack))
    db = Database(stack.database_url, pool_size=1)
    try:
        add_bench_tills(db, str(stack.var_dir / "receipts"))
    finally:
        db.dispose()
    step(f"starting central worker, device workers for {', '.join(tills)}, and the API")
    start_app(stack, tills)


# Only the benchmark's own workflows: long-lived ones of the app (e.g. stock sync) never end.
OWN_RUNNING = 'ExecutionStatus="Running" AND WorkflowType IN ("Sale", "BenchFloor")'


async def settle(client: Client, timeout: float = 120) -> None:
    """Wait until no sale or floor workflow runs (receipts printed, drawers kicked)."""
    deadline = time.monotonic() + timeout
    while (running := (await client.count_workflows(OWN_RUNNING)).count) > 0:
        if time.monotonic() > deadline:
            step(f"warning: {running} sale workflows still running after {timeout:.0f} s; going on")
            return
        await asyncio.sleep(0.5)


async def scenario(
    api_url: str,
    sessions: Sequence[TillSession],
    count: int,
    prices: dict[str, int],
    seed_: int,
    tag: str,
    pause: float = 0.0,
) -> tuple[list[SaleTiming], float]:
    """All tills ringing up `count` sales each at the same time; the sales and the wall time."""
    t0 = time.perf_counter()
    per_till = await asyncio.gather(
        *(
            run_till(api_url, s, count, prices, seed_ * 1000 + i, tag, pause)
            for i, s in enumerate(sessions)
        )
    )
    return [t for till in per_till for t in till], time.perf_counter() - t0


async def measured_scenario(
    stack: Stack,
    res: Results,
    name: str,
    sessions: Sequence[TillSession],
    count: int,
    prices: dict[str, int],
    seed_: int,
    pause: float = 0.0,
) -> tuple[list[SaleTiming], float]:
    """A scenario with the CPU each process used during it."""
    meter = CpuMeter(stack.process_groups())
    tag = name.replace(" ", "")
    timings, wall = await scenario(stack.api_url, sessions, count, prices, seed_, tag, pause)
    res.cpu.append(meter.done(name, len(timings)))
    check_children(stack)
    return timings, wall


def count_sale_orders(url: str) -> int:
    """Orders the sales recorded (floors write their own, under other workflow ids)."""
    db = Database(url, pool_size=1)
    try:
        with db.unit_of_work() as s:
            return (
                s.scalar(
                    select(func.count()).select_from(Order).where(Order.workflow_id.like("sale:%"))
                )
                or 0
            )
    finally:
        db.dispose()


async def run_sales(
    stack: Stack, client: Client, args: argparse.Namespace, prices: dict[str, int], res: Results
) -> None:
    """Warm-up, then the 1-till and the N-till scenario over real HTTP."""
    sessions = await sign_in(stack.api_url, tills_for(args.tills))
    per_till = math.ceil(args.warmup / len(sessions))
    step(f"warming up: {per_till * len(sessions)} sales over {len(sessions)} tills (not counted)")
    await scenario(stack.api_url, sessions, per_till, prices, args.seed + 100, "warm")
    await settle(client)
    step(
        f"1 till: {args.sales} sequential sales at {sessions[0].till}, "
        f"{args.pause_ms:.0f} ms before each"
    )
    res.one, res.one_wall = await measured_scenario(
        stack, res, "1 till", sessions[:1], args.sales, prices, args.seed, res.pause
    )
    await settle(client)
    if res.pause:
        step(f"1 till, back to back: {args.sales} sequential sales at {sessions[0].till}")
        res.one_b2b, _ = await measured_scenario(
            stack, res, "1 b2b", sessions[:1], args.sales, prices, args.seed + 2
        )
        await settle(client)
    step(f"{len(sessions)} tills: {args.sales} sales each, all at once")
    res.many, res.many_wall = await measured_scenario(
        stack, res, f"{len(sessions)} tills", sessions, args.sales, prices, args.seed + 1
    )
    await settle(client)
    res.sales_sent = per_till * len(sessions) + len(res.one) + len(res.one_b2b) + len(res.many)
    res.orders_recorded = count_sale_orders(stack.database_url)


async def run_floors(
    stack: Stack, client: Client, args: argparse.Namespace, prices: dict[str, int], res: Results
) -> None:
    """The PostgreSQL floor, the Temporal floor and its eager-start variant, one after the other."""
    runs = args.floor_runs + FLOOR_WARMUP
    # One connection kept open throughout: a backend exiting mid-section would blur the CPU figures.
    db = Database(stack.database_url, pool_size=1)
    try:
        step(f"PostgreSQL floor: {args.floor_runs} stock + order transactions")
        meter = CpuMeter(stack.process_groups())
        res.pg = postgres_floor(db, args.floor_runs, FLOOR_WARMUP, prices, args.seed)
        res.cpu.append(meter.done("PG floor", runs))
        step(
            f"Temporal floor: {args.floor_runs} update-with-start runs (one no-op local activity), "
            f"{args.pause_ms:.0f} ms before each"
        )
        meter = CpuMeter(stack.process_groups())
        res.floor, _ = await temporal_floor(
            client, args.floor_runs, FLOOR_WARMUP, eager=False, pause=res.pause
        )
        res.cpu.append(meter.done("T floor", runs))
        await settle(client)
        if res.pause:
            step(f"Temporal floor, back to back: {args.floor_runs} runs")
            res.floor_b2b, _ = await temporal_floor(
                client, args.floor_runs, FLOOR_WARMUP, eager=False
            )
            await settle(client)
        step(f"Temporal floor, eager start + result: {args.floor_runs} runs")
        meter = CpuMeter(stack.process_groups())
        res.eager, res.eagerly_started = await temporal_floor(
            client, args.floor_runs, FLOOR_WARMUP, eager=True, pause=res.pause
        )
        res.cpu.append(meter.done("T eager", runs))
    finally:
        db.dispose()


async def run_breakdown(client: Client, res: Results) -> None:
    """Median time per phase, from the workflow histories."""
    step("reading workflow histories for the breakdown")
    sets = {
        "sale, 1 till": res.one,
        "sale, 1 till, back to back": res.one_b2b,
        f"sale, {res.tills} tills": res.many,
        "Temporal floor (update-with-start)": res.floor,
        "Temporal floor, back to back": res.floor_b2b,
        "Temporal floor (eager start)": res.eager,
    }
    for name, timings in sets.items():
        if not timings:
            continue
        res.phases[name] = median_phases(await breakdown(client, timings))


async def measure(stack: Stack, args: argparse.Namespace) -> Results:
    """Every measurement of the run, against the running stack."""
    res = Results(tills=args.tills, pause=args.pause_ms / 1000)
    client = await connect(stack.temporal_address)
    db = Database(stack.database_url, pool_size=1)
    prices = shelf_prices(db)
    db.dispose()
    await run_sales(stack, client, args, prices, res)
    await run_floors(stack, client, args, prices, res)
    await run_breakdown(client, res)
    return res


def temporal_version() -> str:
    """What `temporal --version` says (CLI, server and UI versions)."""
    out = subprocess.run(
        [temporal_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip()


def environment(stack: Stack, load_before: tuple[float, float, float]) -> str:
    """Machine, versions and the dynamic config the dev server ran with."""
    throttles = "\n".join(
        f"    {k} = {v}   (default {THROTTLE_DEFAULTS[k]})" for k, v in stack.dynamic_config.items()
    )
    lifted = stack.dynamic_config == LIFTED_THROTTLES
    return "\n".join(
        [
            f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
            f"Python {platform.python_version()}",
            f"load average before / after: {' '.join(f'{x:.2f}' for x in load_before)} / "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"{temporal_version()}; embedded PostgreSQL; Temporal dev server headless, SQLite "
            f"file, pragmas: {' '.join(stack.sqlite_pragmas) or 'dev server defaults'}; "
            f"central worker at nice {stack.worker_nice} (TILLFLOW_WORKER_NICE)",
            "Temporal dev server --dynamic-config-value "
            + (
                "(per-shard throttles LIFTED for back-to-back load):"
                if lifted
                else "(dev server defaults kept):"
            ),
            throttles,
        ]
    )


def report(stack: Stack, res: Results, load_before: tuple[float, float, float]) -> str:
    """The full printed report: environment, table, targets, breakdown."""
    pg = Row.of("PostgreSQL floor (stock + order, 1 txn)", res.pg, len(res.pg) / sum(res.pg))
    paused = f", {res.pause * 1000:.0f} ms apart" if res.pause else ""
    floor = Row.of(f"Temporal floor (uws, 1 LA){paused}", seconds_of(res.floor))
    eager = Row.of(f"Temporal floor, eager start{paused} [info]", seconds_of(res.eager))
    one = Row.of(
        f"1 till{paused or ', back to back'}", seconds_of(res.one), len(res.one) / res.one_wall
    )
    many = Row.of(
        f"{res.tills} tills, concurrent", seconds_of(res.many), len(res.many) / res.many_wall
    )
    rows = [one, many, pg, floor, eager]
    back_to_back = ""
    if res.one_b2b and res.floor_b2b:
        floor_b2b = Row.of("Temporal floor, back to back [info]", seconds_of(res.floor_b2b))
        # Compared with the floor run the same way (back to back).
        one_b2b = replace(
            Row.of("1 till, back to back [info]", seconds_of(res.one_b2b)), floor_p50=floor_b2b.p50
        )
        floor_b2b = replace(floor_b2b, floor_p50=floor_b2b.p50)
        rows[1:1] = [one_b2b]
        rows.insert(-1, floor_b2b)
        back_to_back = (
            f"\n  info  back to back, 1 till: {one_b2b.p50:.1f} ms = "
            f"{one_b2b.p50 / floor_b2b.p50:.2f}x the floor back to back ({floor_b2b.p50:.1f} ms); "
            "here each sale also shares the 2 cores with the previous sale's receipt and drawer "
            "round trip, which no till that waits for its next customer meets"
        )
    return "\n\n".join(
        [
            "==== tillflow sale checkout latency ====",
            environment(stack, load_before),
            table(rows, pg, floor),
            f"eager start honoured by the server in {res.eagerly_started} of {len(res.eager)} "
            f"runs; orders recorded: {res.orders_recorded} of {res.sales_sent} sales sent "
            f"(incl. warm-up); {sum(t.warned for t in res.one + res.one_b2b + res.many)} measured "
            "sales were sold with a stock warning (e.g. below zero on hand) and completed all the "
            "same",
            "targets:\n" + target_lines(targets(one, many, res.tills, floor)) + back_to_back,
            "where the time goes (from workflow histories):\n" + phase_table(res.phases),
            f"CPU by process during each section ({os.cpu_count()} cores on this machine; "
            "the floors' worker runs in the bench process):\n" + cpu_table(res.cpu),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, measure, print the report, stop everything; the exit code."""
    args = parse_args(argv)
    # Stop cleanly on SIGTERM too: the finally blocks stop every process we started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    throttles = THROTTLE_DEFAULTS if args.default_throttles else LIFTED_THROTTLES
    load_before = os.getloadavg()
    tills = tills_for(args.tills)
    try:
        with services(throttles, sqlite_pragmas(args.sqlite_pragma), args.worker_nice) as stack:
            step(
                f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}, "
                f"dynamic config {throttles}"
            )
            prepare(stack, tills)
            results = asyncio.run(measure(stack, args))
            print("\n" + report(stack, results, load_before) + "\n", flush=True)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
