"""Webhook storm: 2,000 signed Shopify orders/create deliveries (10 % duplicates) through the \
real API.

    .venv/bin/python bench/webhook_storm.py [--webhooks 2000] [--duplicates 0.1] [--concurrency 16]
                                            [--default-throttles]

Starts its own embedded PostgreSQL, Temporal dev server (by default with the history task-queue
throttles lifted, as bench/sale_latency.py does; `--default-throttles` keeps the dev server's
defaults), the central worker (which runs the OnlineOrder workflows) and the API, on free ports in
a temp dir, and removes all of it at the end. Prints the acknowledgement latency (p50 / p99 / max,
measured at the client), orders processed per second (delivery to "routed, reserved, fulfilment
started"), and checks that every order was processed exactly once and every duplicate dropped.
Nothing leaves this machine: the shop's API address is a closed local port.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from _cpu import BENCH, OTHERS, CpuMeter, CpuUse
from _report import cpu_table, percentile
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
from _storm_floor import release, start_worker, storm_floor
from sqlalchemy import func, select, text

from db.models import Order
from db.models_payments import WebhookEvent
from db.seed import demo_skus
from db.session import Database
from integrations.webstore_signatures import sign
from tillflow.temporal import connect

SHOP = "storm-shop"
SECRET = "shpss_storm_secret"
TARGET_P99_MS = 100.0
TARGET_FLOOR_RATIO = 0.85  # orders processed per second, as a share of the floor's


@dataclass
class Delivery:
    order_id: int
    event_id: str
    body: bytes
    duplicate: bool


@dataclass
class Results:
    acks: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)  # event id -> seconds from the start
    sent_wall: dict[int, float] = field(default_factory=dict)  # order id -> time.time() first sent
    statuses: dict[str, int] = field(default_factory=dict)
    send_wall: float = 0.0
    process_wall: float = 0.0
    floor_send_wall: float = 0.0
    floor_process_wall: float = 0.0
    cpu: list[CpuUse] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--webhooks", type=int, default=2000, help="deliveries in total, duplicates included"
    )
    p.add_argument(
        "--duplicates",
        type=float,
        default=0.10,
        help="share of deliveries that repeat an earlier one",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help=(
            "deliveries per second, sent on schedule whatever the answers (open loop); "
            "0 = closed loop"
        ),
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="closed loop (--rate 0): deliveries in flight at once",
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument(
        "--default-throttles",
        action="store_true",
        help="keep the dev server's default task-queue throttles (20 batches/s)",
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICE,
        help="CPU priority (nice) of the central worker, as TILLFLOW_WORKER_NICE under "
        f"`tillflow up` (default {WORKER_NICE}; 0 = the same as the API)",
    )
    return p.parse_args(argv)


def step(text_: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text_}", flush=True)


def deliveries(total: int, share: float, rng: random.Random) -> list[Delivery]:
    """Unique orders of 1-3 demo SKUs, then re-deliveries (same event id) mixed in after their
    original."""
    dups = int(total * share)
    skus = [s for s in demo_skus() if s != "GIFT-CARD"]
    base = 7_000_000_000 + rng.randrange(10**8)
    unique = []
    for n in range(total - dups):
        order_id = base + n
        lines = [
            {
                "id": order_id * 10 + i,
                "sku": sku,
                "quantity": 1,
                "price": "12.90",
                "title": sku,
                "tax_lines": [{"price": "2.06", "rate": 0.19, "title": "MwSt"}],
            }
            for i, sku in enumerate(rng.sample(skus, rng.randint(1, 3)), start=1)
        ]
        body = json.dumps(
            {
                "id": order_id,
                "name": f"#{n + 1001}",
                "email": f"c{n}@example.test",
                "currency": "EUR",
                "total_price": f"{12.90 * len(lines):.2f}",
                "taxes_included": True,
                "financial_status": "paid",
                "cancelled_at": None,
                "line_items": lines,
                "shipping_address": {
                    "country_code": rng.choice(["DE", "PT"]),
                    "latitude": None,
                    "longitude": None,
                },
            }
        ).encode()
        unique.append(Delivery(order_id, f"evt-{uuid.uuid4().hex}", body, False))
    out = list(unique)
    for original in rng.sample(unique, dups):
        at = out.index(original) + 1
        out.insert(
            rng.randint(at, len(out)),
            Delivery(original.order_id, original.event_id, original.body, True),
        )
    return out


def connect_shop(api_url: str) -> None:
    token = httpx.post(
        f"{api_url}/auth/login", json={"username": "admin", "password": "admin-demo"}
    ).json()["token"]
    r = httpx.post(
        f"{api_url}/webstores",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "code": SHOP,
            "platform": "shopify",
            "currency": "EUR",
            "shop_domain": "storm.myshopify.com",
            # never called during the storm; and never the internet
            "api_base_url": "http://127.0.0.1:9",
            "webhook_secret": SECRET,
            "access_token": "shpat_storm",
            "locations": [
                {"location": "BER", "external_id": "1"},
                {"location": "LIS", "external_id": "2"},
                {"location": "WH1", "external_id": "3"},
            ],
        },
    )
    if r.status_code != 201:
        raise StackError(f"connecting the shop failed: {r.status_code} {r.text}")


async def storm(
    api_url: str, items: list[Delivery], concurrency: int, res: Results, rate: float = 0.0
) -> None:
    """Open loop at `rate` deliveries per second (each sent on schedule, however slow the answers),
    or closed loop (rate 0): `concurrency` senders, each posting its next delivery when the last is
    answered.

    The client is aiohttp with the signatures computed up front, so the load generator (which
    shares this machine's cores) stays light and the numbers are the API's, not the client's.
    """
    import aiohttp

    prepared = [
        (
            d,
            {
                "Content-Type": "application/json",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Hmac-Sha256": sign(d.body, SECRET),
                "X-Shopify-Event-Id": d.event_id,
                "X-Shopify-Shop-Domain": "storm.myshopify.com",
                "X-Shopify-API-Version": "2025-01",
                "X-Shopify-Triggered-At": "2026-11-22T10:00:00.000000000Z",
            },
        )
        for d in items
    ]
    queue: asyncio.Queue[tuple[Delivery, dict[str, str]]] = asyncio.Queue()
    for p in prepared:
        queue.put_nowait(p)
    url = f"{api_url}/webhooks/shopify/{SHOP}"

    async def sender(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            await sender_one(http, *queue.get_nowait())

    async def scheduled(http: aiohttp.ClientSession) -> None:
        start = time.perf_counter()
        tasks = []
        for n in range(len(prepared)):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(sender_once(http)))
        await asyncio.gather(*tasks)

    async def sender_once(http: aiohttp.ClientSession) -> None:
        await sender_one(http, *queue.get_nowait())

    async def sender_one(http: aiohttp.ClientSession, d: Delivery, headers: dict[str, str]) -> None:
        t0 = time.perf_counter()
        res.sent_at.setdefault(d.event_id, t0 - started)
        res.sent_wall.setdefault(d.order_id, time.time())
        async with http.post(url, data=d.body, headers=headers) as r:
            payload = await r.read()
        res.acks.append(time.perf_counter() - t0)
        if r.status != 200:
            res.problems.append(f"{d.event_id}: {r.status} {payload[:200]!r}")
            return
        body = json.loads(payload)
        key = "duplicate" if body.get("duplicate") else body.get("status", "?")
        res.statuses[key] = res.statuses.get(key, 0) + 1

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0 if rate else concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as http:
        t0 = started = time.perf_counter()
        if rate:
            await scheduled(http)
        else:
            await asyncio.gather(*[sender(http) for _ in range(concurrency)])
        res.send_wall = time.perf_counter() - t0


def processed(db: Database) -> int:
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Order)
                .where(
                    Order.external_source == "shopify",
                    Order.external_id.like(f"{SHOP}:%"),
                    Order.status == "fulfilling",
                )
            )
            or 0
        )


def verify(db: Database, items: list[Delivery], res: Results) -> None:
    """Every order exactly once: one inbox row per event, one order, its units held once."""
    unique = {d.order_id: d for d in items if not d.duplicate}
    with db.unit_of_work() as s:
        inbox = (
            s.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.provider == "shopify", WebhookEvent.event_id.like(f"{SHOP}:%"))
            )
            or 0
        )
        orders = s.execute(
            select(Order.external_id, func.count())
            .where(Order.external_source == "shopify")
            .group_by(Order.external_id)
        ).all()
        held: dict[str, int] = dict(
            s.execute(
                text(
                    "SELECT reference, sum(quantity) FROM reservations "
                    "WHERE kind = 'order' AND status = 'active' "
                    "GROUP BY reference"
                )
            ).all()
        )
    if inbox != len(unique):
        res.problems.append(f"inbox holds {inbox} deliveries, expected {len(unique)}")
    if len(orders) != len(unique) or any(n != 1 for _, n in orders):
        res.problems.append(f"{len(orders)} orders recorded for {len(unique)} unique deliveries")
    for order_id, d in unique.items():
        want = sum(li["quantity"] for li in json.loads(d.body)["line_items"])
        got = held.get(f"order:shopify:{SHOP}:{order_id}", 0)
        if got != want:
            res.problems.append(f"order {order_id}: {got} units held, expected {want}")
            break
    dups = sum(1 for d in items if d.duplicate)
    # Which of two copies counts as "the duplicate" depends on which reached the inbox first.
    if res.statuses.get("duplicate", 0) != dups:
        res.problems.append(
            f"{res.statuses.get('duplicate', 0)} deliveries answered as duplicates, expected {dups}"
        )


async def breakdown(
    stack: Stack, sent_wall: dict[int, float], samples: int = 30
) -> dict[str, float]:
    """Median seconds per phase of a sample of orders, from their workflow histories (the first
    phase from the client's clock: the same machine clock)."""
    from temporalio.api.enums.v1 import EventType

    client = await connect(stack.temporal_address)
    phases: dict[str, list[float]] = {}
    ids = [wf.id async for wf in client.list_workflows("WorkflowType='OnlineOrder'")]
    for wf_id in random.Random(1).sample(ids, min(samples, len(ids))):
        history = await client.get_workflow_handle(wf_id).fetch_history()
        times: dict[str, float] = {}
        order_id = int(wf_id.rsplit(":", 1)[-1]) if wf_id.rsplit(":", 1)[-1].isdigit() else 0
        if order_id in sent_wall:
            times["delivery sent"] = sent_wall[order_id]
        for e in history.events:
            t = e.event_time.ToDatetime().timestamp()
            name = EventType.Name(e.event_type)
            if name == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED":
                times["started"] = t
            elif name == "EVENT_TYPE_WORKFLOW_TASK_STARTED" and "first task picked up" not in times:
                times["first task picked up"] = t
            elif name == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" and "first task done" not in times:
                times["first task done"] = t
            elif (
                name == "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"
                and "child asked" not in times
            ):
                times["child asked"] = t
        order = [
            "delivery sent",
            "started",
            "first task picked up",
            "first task done",
            "child asked",
        ]
        for a_, b_ in itertools.pairwise(order):
            if a_ in times and b_ in times:
                phases.setdefault(f"{a_} -> {b_}", []).append(times[b_] - times[a_])
    return {k: sorted(v)[len(v) // 2] for k, v in phases.items()}


async def count_workflows(stack: Stack) -> int:
    client = await connect(stack.temporal_address)
    n = 0
    async for _ in client.list_workflows("WorkflowType='OnlineOrder'"):
        n += 1
    return n


def priorities(stack: Stack) -> str:
    """Which process runs at which CPU priority (TILLFLOW_WORKER_NICE, as under `tillflow up`)."""
    worker = next(p.pid for n, p in stack.children if n == "worker")
    temporal = stack.service_pids["Temporal dev server"]
    return (
        f"central worker at nice {os.getpriority(os.PRIO_PROCESS, worker)} (TILLFLOW_WORKER_NICE), "
        f"Temporal dev server at nice {os.getpriority(os.PRIO_PROCESS, temporal)}, "
        "API and PostgreSQL at 0"
    )


def report(
    res: Results,
    unique: int,
    total: int,
    throttles: dict[str, int],
    workflows: int,
    background: str,
    args: argparse.Namespace,
) -> str:
    ms = [a * 1000 for a in res.acks]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    rate = unique / res.process_wall
    floor_rate = unique / res.floor_process_wall if res.floor_process_wall else 0.0
    ratio = rate / floor_rate if floor_rate else 0.0
    load = (
        f"{args.rate:.0f}/s open loop"
        if args.rate
        else f"closed loop, {args.concurrency} in flight"
    )
    lines = [
        f"webhook storm: {total} Shopify deliveries ({total - unique} duplicates), "
        f"{unique} orders, {load}, {os.cpu_count()} cores; {background}; "
        f"Temporal dev server dynamic config {throttles}",
        f"  acknowledgement (client-side)  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"max {max(ms):6.1f} ms",
        f"  deliveries sent                {total / res.send_wall:6.1f} /s   "
        f"({res.send_wall:.1f} s)",
        f"  orders processed               {unique / res.process_wall:6.1f} /s   "
        f"(routed, reserved, fulfilment started; all {unique} in {res.process_wall:.1f} s)",
        f"  Temporal floor (same shape)    {floor_rate:6.1f} /s   "
        f"(signal-with-start on the same schedule, 3 no-op local activities + 1 child; "
        f"all {unique} in {res.floor_process_wall:.1f} s, sent in {res.floor_send_wall:.1f} s)",
        f"  orders processed / floor       {ratio:6.2f} x",
        f"  CPU per order, floor / ours    {_cpu_ratio(res):6.2f} x   (the stack's processes, "
        "bench and other processes apart: the ratio a CPU-bound machine would give)",
        f"  answers                        {dict(sorted(res.statuses.items()))}",
        f"  OnlineOrder workflows          {workflows}",
        "  exactly once                   "
        f"{'yes' if not res.problems else 'NO: ' + '; '.join(res.problems[:5])}",
        f"  target ack p99 < {TARGET_P99_MS:.0f} ms          "
        f"{'met' if p99 < TARGET_P99_MS else 'MISSED'}",
        f"  target orders/s >= {TARGET_FLOOR_RATIO:.2f} x floor  "
        f"{'met' if ratio >= TARGET_FLOOR_RATIO else 'MISSED'} ({ratio:.2f} x)",
        f"  load average before / after    {args.load_before} / {_load()}",
        "",
        "CPU per order by process (the floor's worker: a process at the central worker's nice):",
        cpu_table(res.cpu),
    ]
    return "\n".join(lines)


def _cpu_ratio(res: Results) -> float:
    """The floor's CPU per order over tillflow's, counting only the stack's own processes."""
    if len(res.cpu) < 2:
        return 0.0

    def stack_ms(u: CpuUse) -> float:
        return sum(v for k, v in u.seconds.items() if k not in (OTHERS, BENCH)) / u.runs

    ours, floor = stack_ms(res.cpu[0]), stack_ms(res.cpu[1])
    return floor / ours if ours else 0.0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_floor(stack: Stack, items: list[Delivery], res: Results) -> None:
    """The Temporal floor on tillflow's own schedule: each unique order when its delivery went,
    its worker in a process at the central worker's priority; its CPU in the table."""
    orders = sorted(
        (res.sent_at.get(d.event_id, 0.0), d.order_id, d.body.decode())
        for d in items
        if not d.duplicate
    )
    out = stack.var_dir / "storm-floor.txt"
    proc = start_worker(
        stack.temporal_address, len(orders), out, stack.worker_nice, stack.logs / "floor.log"
    )
    groups = {**stack.process_groups(), "floor worker": [proc.pid]}
    meter = CpuMeter(groups)

    async def go() -> tuple[float, float]:
        client = await connect(stack.temporal_address)
        return await storm_floor(client, orders, proc, out)

    try:
        res.floor_send_wall, res.floor_process_wall = asyncio.run(go())
        floor_cpu = meter.done("floor", len(orders))
    finally:
        release(out)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # the same rows in both columns: the floor's worker is "central worker"'s counterpart
    tf = res.cpu[0]
    res.cpu[0] = CpuUse(tf.section, {**tf.seconds, "floor worker": 0.0}, tf.waits, tf.runs, tf.wall)
    res.cpu.append(floor_cpu)


def main(argv: Sequence[str] | None = None) -> int:
    """Start everything, storm, wait for the orders, verify, print, stop everything; the exit
    code."""
    args = parse_args(argv)
    args.load_before = _load()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    throttles = THROTTLE_DEFAULTS if args.default_throttles else LIFTED_THROTTLES
    items = deliveries(args.webhooks, args.duplicates, random.Random(args.seed))
    unique = sum(1 for d in items if not d.duplicate)
    try:
        with services(throttles, worker_nice=args.worker_nice) as stack:
            step(
                f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}, "
                f"dynamic config {throttles}"
            )
            step("migrating and seeding the demo retailer")
            seed(stack, seed_env(stack))
            step("starting the central worker and the API")
            start_app(stack, [])
            background = priorities(stack)
            connect_shop(stack.api_url)
            db = Database(stack.database_url, pool_size=2)
            res = Results()
            step(
                f"sending {len(items)} deliveries, "
                + (f"{args.rate:.0f} a second" if args.rate else f"{args.concurrency} at a time")
            )
            meter = CpuMeter(stack.process_groups())
            t0 = time.perf_counter()
            asyncio.run(storm(stack.api_url, items, args.concurrency, res, args.rate))
            step("waiting for every order to be routed and reserved")
            deadline = time.monotonic() + 600
            while processed(db) < unique:
                check_children(stack)
                if time.monotonic() > deadline:
                    raise StackError(
                        f"only {processed(db)} of {unique} orders processed after 10 minutes"
                    )
                time.sleep(0.05)
            res.process_wall = time.perf_counter() - t0
            res.cpu.append(meter.done("tillflow", unique))
            verify(db, items, res)
            workflows = asyncio.run(count_workflows(stack))
            for phase, seconds in asyncio.run(breakdown(stack, res.sent_wall)).items():
                print(f"  median {phase:<40} {seconds * 1000:8.1f} ms", flush=True)
            if workflows != unique:
                res.problems.append(f"{workflows} OnlineOrder workflows for {unique} orders")
            step(f"the Temporal floor: {unique} order-shaped workflows on the same schedule")
            run_floor(stack, items, res)
            db.dispose()
            print(
                "\n"
                + report(res, unique, len(items), throttles, workflows, background, args)
                + "\n",
                flush=True,
            )
            step("stopping everything")
    except KeyboardInterrupt:
        print(
            "\ninterrupted; everything the benchmark started is stopped and removed",
            file=sys.stderr,
        )
        return 130
    except StackError as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        return 1
    step("done; temp dir removed")
    return 0 if not res.problems else 1


if __name__ == "__main__":
    sys.exit(main())
