"""Sale checkout latency through the real path (HTTP API -> Sale workflow -> activities -> device
worker) at 1 and N tills, compared with a bare PostgreSQL floor and a minimal Temporal floor.

    .venv/bin/python bench/sale_latency.py [--sales 200] [--tills 8] [--pause-ms 150] \
[--default-throttles]

The 1-till scenario leaves `--pause-ms` before each sale (the next customer steps up while the
last receipt prints), and so do the Temporal floors it is compared with; it also runs back to
back, for information. The N-till scenario always runs back to back (throughput).

Issue 21: the Temporal floor is also run in the sale's shape (start, one local activity, the
answer, a device step after it, completion) with the pause, back to back and at N concurrent
callers; the report judges the issue's targets against it, prints tillflow's own CPU per sale
apart from the Temporal server's, and the history events and Temporal Cloud billable actions of a
cash, a Lisbon (signed) cash, a card and a split sale next to the floor shape's. `--py-spy DIR`
profiles the API and the workers during the N-till scenario.

Starts its own embedded PostgreSQL, Temporal dev server, workers and API on free ports in a temp
dir, and stops and removes all of it at the end (also on Ctrl-C or an error).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from _breakdown import (
    FLOOR_SHAPE_ACTIONS,
    FLOOR_SHAPE_EVENTS,
    HistoryCost,
    breakdown,
    history_costs,
    median_phases,
)
from _cpu import TEMPORAL_SERVER, CpuMeter, CpuUse, ms_per_run, own_parts
from _floors import postgres_floor, seconds_of, temporal_floor, temporal_floor_callers
from _report import Row, Target, cpu_table, percentile, phase_table, table, target_lines, targets
from _stack import (
    LIFTED_THROTTLES,
    THROTTLE_DEFAULTS,
    WORKER_NICE,
    Stack,
    StackError,
    check_children,
    free_port,
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
    tills_for,
)
from sqlalchemy import func, select
from temporalio.client import Client

from db.models import Order
from db.session import Database
from tillflow.embedded import DEV_SERVER_SQLITE_PRAGMAS, start_localstripe, temporal_binary
from tillflow.temporal import connect

FLOOR_WARMUP = 10
# Issue 21's targets.
P50_FLOOR_RATIO = 1.25  # 1 till p50, with the pause and back to back
P99_FLOOR_RATIO = 1.5  # 1 till p99, both ways
RATE_FLOOR_RATIO = 0.85  # sales/s at N tills against the floor at N callers
MANY_P99_FLOOR_RATIO = 2.0  # p99 at N tills against the floor's at N callers
OWN_CPU_MS = 10.0  # tillflow's own CPU per sale at N tills (Temporal server apart)


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
    # issue 21: the sale-shaped floor (device step after the answer), and floors at N callers
    shape: list[SaleTiming] = field(default_factory=list)
    shape_b2b: list[SaleTiming] = field(default_factory=list)
    shape_many: list[SaleTiming] = field(default_factory=list)
    shape_many_wall: float = 0.0
    bare_many: list[SaleTiming] = field(default_factory=list)
    bare_many_wall: float = 0.0
    costs: dict[str, list[HistoryCost]] = field(default_factory=dict)
    cost_notes: list[str] = field(default_factory=list)


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
        "--py-spy",
        metavar="DIR",
        default="",
        help="record py-spy profiles (collapsed stacks of the GIL holder, one file per "
        "process) of the API, the central worker and BER1's and LIS1's device workers during "
        "the N-till scenario into DIR; its figures are not for the record. Needs py-spy on PATH "
        "(not a dependency: `pip install --target /tmp/pyspy py-spy`, /tmp/pyspy/bin on PATH)",
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
    # The card and split sales whose histories the bench reads go to the local Stripe emulator
    # (nothing leaves the machine), as under `tillflow up` without a Stripe key.
    port = free_port()
    stack.children.append(("localstripe", start_localstripe(stack.var_dir, port)))
    os.environ["TILLFLOW_LOCALSTRIPE_PORT"] = str(port)
    os.environ.pop("TILLFLOW_STRIPE_API_KEY", None)
    os.environ.pop("TILLFLOW_STRIPE_API_BASE", None)
    step(f"starting central worker, device workers for {', '.join(tills)}, and the API")
    start_app(stack, tills)


# Only the benchmark's own workflows: long-lived ones of the app (e.g. stock sync) never end.
OWN_RUNNING = (
    'ExecutionStatus="Running" AND WorkflowType IN ("Sale", "BenchFloor", "BenchFloorSale")'
)


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


@contextlib.contextmanager
def py_spy(stack: Stack, out_dir: str) -> Iterator[None]:
    """py-spy recording the API, the central worker and one device worker while in the block
    (nothing when `out_dir` is empty)."""
    if not out_dir:
        yield
        return
    exe = shutil.which("py-spy")
    if exe is None:
        raise StackError("--py-spy: no py-spy on PATH")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    wanted = {"api", "worker", "devices-BER1", "devices-LIS1"}
    procs = [
        subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(p.pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                f"{out_dir}/{name}.txt",
                "--nonblocking",
                "--gil",  # only samples holding the GIL: Python's CPU, not its waits
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, p in stack.children
        if name in wanted
    ]
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        step(f"py-spy profiles in {out_dir}")
        for name in sorted(wanted):
            path = Path(out_dir) / f"{name}.txt"
            if path.exists():
                print(f"{name}: " + profile_summary(path), flush=True)


OWN_CODE = re.compile(r"\((activities|api|contracts|db|devices|domain|integrations|workflows)/")


def profile_summary(path: Path, top: int = 14) -> str:
    """The share of a py-spy raw profile's samples spent in (under) each of tillflow's own
    functions, most first: where the process's Python CPU goes."""
    under: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        frames = {re.sub(r":\d+\)$", ")", f) for f in stack.split(";")}
        for f in frames:
            if OWN_CODE.search(f):
                under[f] = under.get(f, 0) + int(n)
    best = sorted(under.items(), key=lambda kv: -kv[1])[:top]
    return f"{total} samples\n" + "\n".join(f"  {100 * v / total:5.1f}%  {k}" for k, v in best)


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
    await open_shifts(stack.api_url, sessions)
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
    with py_spy(stack, args.py_spy):
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
        await run_shape_floors(stack, client, args, res)
        step(f"Temporal floor, eager start + result: {args.floor_runs} runs")
        meter = CpuMeter(stack.process_groups())
        res.eager, res.eagerly_started = await temporal_floor(
            client, args.floor_runs, FLOOR_WARMUP, eager=True, pause=res.pause
        )
        res.cpu.append(meter.done("T eager", runs))
    finally:
        db.dispose()


async def run_shape_floors(
    stack: Stack, client: Client, args: argparse.Namespace, res: Results
) -> None:
    """The sale-shaped Temporal floor (a device step after the answer) at 1 caller with the pause
    and back to back, then at N concurrent callers as the N tills; the bare floor at N callers."""
    step(
        f"Temporal floor, sale shape (1 LA, answer, device step): {args.floor_runs} runs, "
        f"{args.pause_ms:.0f} ms before each"
    )
    meter = CpuMeter(stack.process_groups())
    res.shape, _ = await temporal_floor_callers(
        client, args.floor_runs, FLOOR_WARMUP, shape=True, pause=res.pause
    )
    res.cpu.append(meter.done("T shape", args.floor_runs))
    await settle(client)
    if res.pause:
        step(f"Temporal floor, sale shape, back to back: {args.floor_runs} runs")
        res.shape_b2b, _ = await temporal_floor_callers(
            client, args.floor_runs, FLOOR_WARMUP, shape=True
        )
        await settle(client)
    n = args.tills
    step(f"Temporal floor, sale shape, {n} concurrent callers: {args.sales} runs each")
    meter = CpuMeter(stack.process_groups())
    res.shape_many, res.shape_many_wall = await temporal_floor_callers(
        client, args.sales, FLOOR_WARMUP, callers=n, shape=True
    )
    res.cpu.append(meter.done(f"T shape x{n}", len(res.shape_many)))
    await settle(client)
    step(f"Temporal floor, bare (no device step), {n} concurrent callers: {args.sales} runs each")
    meter = CpuMeter(stack.process_groups())
    res.bare_many, res.bare_many_wall = await temporal_floor_callers(
        client, args.sales, FLOOR_WARMUP, callers=n, shape=False
    )
    res.cpu.append(meter.done(f"T bare x{n}", len(res.bare_many)))
    await settle(client)


async def sample_sales(stack: Stack, client: Client, prices: dict[str, int], res: Results) -> None:
    """Events and billable actions per sale from the workflow histories: measured cash sales,
    one card and one split (cash + card) sale rung up now, and the floors'."""
    step("ringing up a card and a split sale; reading histories for events and actions")
    session, lisbon = await sign_in(stack.api_url, ["BER1", "LIS1"])
    sku = max(prices, key=prices.__getitem__)  # dear enough that the split's card pays a part
    total = prices[sku]
    tenders = {
        "cash, Lisbon (signed, pt-at)": [{"kind": "cash", "amount": total + 1000}],
        "card": [{"kind": "card", "amount": total, "simulate": "pm_card_visa"}],
        "split": [
            {"kind": "cash", "amount": 500},
            {"kind": "card", "amount": total - 500, "simulate": "pm_card_visa"},
        ],
    }
    ids: dict[str, list[str]] = {"cash": [t.workflow_id for t in res.one[:20]]}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
        for kind, tender in tenders.items():
            body = {
                "client_sale_id": f"cost-{kind.split(' ')[0].strip(',')}-{time.time_ns()}",
                "lines": [{"sku": sku, "quantity": 1}],
                "tenders": tender,
            }
            at = lisbon if "Lisbon" in kind else session
            r = await http.post(f"/tills/{at.till}/sales", json=body, headers=at.headers)
            answer = r.json() if r.status_code == 200 else {}
            if answer.get("status") != "completed":
                res.cost_notes.append(f"{kind} sale answered {r.status_code}: {r.text[:300]}")
                continue
            ids[kind] = [answer["workflow_id"]]
    await settle(client)
    ids["floor, sale shape"] = [t.workflow_id for t in res.shape[:5]]
    ids["floor, bare (no device step) [info]"] = [t.workflow_id for t in res.floor[:5]]
    for kind, wfs in ids.items():
        if wfs:
            res.costs[kind] = await history_costs(client, wfs)


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
        "floor, sale shape": res.shape,
        "floor, sale shape, back to back": res.shape_b2b,
        f"floor, sale shape, {res.tills} callers": res.shape_many,
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
    await sample_sales(stack, client, prices, res)
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


def _ms(timings: Sequence[SaleTiming], q: float) -> float:
    return percentile([t.seconds * 1000 for t in timings], q)


def _ratio_target(text: str, ours: float, floor: float, limit: float, unit: str = "ms") -> Target:
    """`ours` as a multiple of `floor`, met when at most `limit` times it."""
    ratio = ours / floor
    return Target(text, f"{ratio:.2f}x ({ours:.1f} / {floor:.1f} {unit})", ratio <= limit)


def issue21_targets(res: Results) -> list[Target]:
    """Issue 21's targets for the till sale, each against the floor run the same way."""
    out: list[Target] = []
    ways = [("150 ms pause" if res.pause else "back to back", res.one, res.shape, res.floor)]
    if res.one_b2b and res.shape_b2b:
        ways.append(("back to back", res.one_b2b, res.shape_b2b, res.floor_b2b))
    for way, ours, shape, _bare in ways:
        for q, limit in ((50, P50_FLOOR_RATIO), (99, P99_FLOOR_RATIO)):
            out.append(
                _ratio_target(
                    f"1 till p{q}, {way}: <= {limit}x the floor",
                    _ms(ours, q),
                    _ms(shape, q),
                    limit,
                )
            )
    n = res.tills
    rate = len(res.many) / res.many_wall
    floor_rate = len(res.shape_many) / res.shape_many_wall
    ratio = rate / floor_rate
    out.append(
        Target(
            f"{n} tills sales/s >= {RATE_FLOOR_RATIO}x the floor's at {n} callers",
            f"{ratio:.2f}x ({rate:.1f} / {floor_rate:.1f} per s)",
            ratio >= RATE_FLOOR_RATIO,
        )
    )
    out.append(
        _ratio_target(
            f"{n} tills p99 <= {MANY_P99_FLOOR_RATIO:.0f}x the floor's p99 at {n} callers",
            _ms(res.many, 99),
            _ms(res.shape_many, 99),
            MANY_P99_FLOOR_RATIO,
        )
    )
    many_cpu = next((u for u in res.cpu if u.section == f"{n} tills"), None)
    if many_cpu is not None:
        own = ms_per_run(many_cpu, own_parts(many_cpu))
        out.append(
            Target(
                f"tillflow's own CPU per sale at {n} tills <= {OWN_CPU_MS:.0f} ms",
                f"{own:.1f} ms",
                own <= OWN_CPU_MS,
            )
        )
    cash = res.costs.get("cash", [])
    if cash:
        worst = max(c.events for c in cash)
        out.append(
            Target(
                "cash sale: no more history events than the floor shape's (14)",
                f"{worst} events, {max(c.actions for c in cash)} actions "
                f"(floor shape {FLOOR_SHAPE_ACTIONS})",
                worst <= 14,
            )
        )
    return out


def issue21_info(res: Results) -> str:
    """The same 1-till figures against round 1's bare floor (no device step), and the floors at
    N callers, for information."""
    lines = []
    ways = [("150 ms pause" if res.pause else "back to back", res.one, res.floor)]
    if res.one_b2b and res.floor_b2b:
        ways.append(("back to back", res.one_b2b, res.floor_b2b))
    for way, ours, bare in ways:
        lines.append(
            f"  info  1 till, {way}, against the bare floor (1 LA, no device step; round 1's): "
            f"p50 {_ms(ours, 50) / _ms(bare, 50):.2f}x ({_ms(bare, 50):.1f} ms), "
            f"p99 {_ms(ours, 99) / _ms(bare, 99):.2f}x ({_ms(bare, 99):.1f} ms)"
        )
    n = res.tills
    for name, runs, wall in (
        ("sale shape", res.shape_many, res.shape_many_wall),
        ("bare", res.bare_many, res.bare_many_wall),
    ):
        if runs:
            lines.append(
                f"  info  floor, {name}, {n} concurrent callers: {len(runs) / wall:.1f} runs/s, "
                f"p50 {_ms(runs, 50):.1f} ms, p99 {_ms(runs, 99):.1f} ms"
            )
    return "\n".join(lines)


def cpu_split(res: Results) -> str:
    """CPU per sale at N tills: tillflow's own processes, apart from the Temporal server's; and
    the floor's at N callers (its worker and callers are the bench process)."""
    n = res.tills
    lines = []
    for use in res.cpu:
        if use.section not in (f"{n} tills", "1 till", f"T shape x{n}", f"T bare x{n}"):
            continue
        own = own_parts(use)
        parts = ", ".join(f"{p} {ms_per_run(use, [p]):.1f}" for p in own)
        lines.append(
            f"  {use.section:<12} tillflow's own {ms_per_run(use, own):5.1f} ms ({parts}); "
            f"Temporal server {ms_per_run(use, [TEMPORAL_SERVER]):5.1f} ms; "
            f"bench process {ms_per_run(use, ['bench (this process)']):5.1f} ms"
        )
    return "\n".join(lines)


def _span(values: Iterable[int]) -> str:
    """`7`, or `7-9` when the values differ."""
    seen = sorted(set(values))
    return str(seen[0]) if len(seen) == 1 else f"{seen[0]}-{seen[-1]}"


def costs_table(res: Results) -> str:
    """History events and Temporal Cloud billable actions per sale, next to the floor shape's."""
    head = f"  {'per sale':<44}{'events':>8}{'actions':>9}{'wf tasks':>10}   actions by kind"
    lines = [head]
    for kind, costs in res.costs.items():
        ev = _span(c.events for c in costs)
        ac = _span(c.actions for c in costs)
        detail = ", ".join(f"{k} {v}" for k, v in costs[0].detail.items())
        label = f"{kind} ({len(costs)} sampled)" if len(costs) > 1 else kind
        lines.append(f"  {label:<44}{ev:>8}{ac:>9}{costs[0].workflow_tasks:>10}   {detail}")
    lines.append(f"  floor shape (the issue's): {FLOOR_SHAPE_ACTIONS} actions, 14 events: ")
    lines.append(f"    {FLOOR_SHAPE_EVENTS}")
    for kind in ("cash", "cash, Lisbon (signed, pt-at)", "card", "split"):
        if kind in res.costs:
            lines.append(f"  {kind} sale's events: {', '.join(res.costs[kind][0].sequence)}")
    lines += [f"  note: {n}" for n in res.cost_notes]
    return "\n".join(lines)


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
            "issue 21 targets (floor: the sale shape, start + 1 LA + answer + device step, run "
            "the same way in the same run):\n"
            + target_lines(issue21_targets(res))
            + "\n"
            + issue21_info(res),
            "CPU per sale (ms): tillflow's own processes apart from the Temporal server:\n"
            + cpu_split(res),
            "history events and billable actions per sale (Temporal Cloud's counting, "
            "docs.temporal.io/evaluate/cloud/actions):\n" + costs_table(res),
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
