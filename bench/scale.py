"""Scale-out: the API and the central worker as 1 and as 2 processes each, against one Temporal dev
server and one PostgreSQL; till sales and web-store orders per second, exactly once.

    .venv/bin/python bench/scale.py [--tills 8] [--sales 40] [--webhooks 400] [--concurrency 16]
                                    [--layouts 1x1,2x2]

Starts its own embedded PostgreSQL and Temporal dev server (task-queue throttles lifted, as
`tillflow up` does) on free ports in a temp dir. For each layout `AxW` (A API processes, each on
its own port with its in-process sale worker; W central workers; one device worker per till) it
starts the processes, then:

1. till sales: `--tills` tills each ring up `--sales` cash sales back to back (closed loop), the
   tills spread over the API processes in turn; sales/s. Exactly once: one order per answered
   sale id, no other order, and every SKU's stock at every store moved by exactly the units sold.
2. web-store orders: `--webhooks` signed Shopify orders/create deliveries (as in
   bench/webhook_storm.py, 10 % re-deliveries), `--concurrency` in flight, spread over the API
   processes; orders/s from the first delivery until every order is routed, reserved and its
   fulfilment started. Exactly once: one order per unique delivery, each holding its units once.

Then stops those processes and starts the next layout on the same PostgreSQL and Temporal. The
floor is the first layout (1x1) of the same run: each figure is printed with its ratio to it.
Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import webhook_storm as storm_bench
from _business import start_apps, start_localstripe, stop_apps, uptime
from _report import percentile
from _stack import LIFTED_THROTTLES, Stack, StackError, check_children, seed, seed_env, services
from _tills import (
    SaleFailed,
    SaleTiming,
    TillSession,
    add_bench_tills,
    basket,
    open_shifts,
    ring_up,
    shelf_prices,
    sign_in,
    tills_for,
)
from sqlalchemy import func, select, text

from db.models import Location, Order, StockLevel
from db.session import Database


@dataclass
class Layout:
    apis: int
    workers: int
    sales: list[SaleTiming] = field(default_factory=list)
    sales_wall: float = 0.0
    orders: int = 0
    orders_wall: float = 0.0
    acks: list[float] = field(default_factory=list)
    cpu_cores: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.apis} API + {self.workers} worker"

    @property
    def sales_rate(self) -> float:
        return len(self.sales) / self.sales_wall if self.sales_wall else 0.0

    @property
    def orders_rate(self) -> float:
        return self.orders / self.orders_wall if self.orders_wall else 0.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--tills", type=int, default=8, help="tills selling at once (default 8)")
    p.add_argument("--sales", type=int, default=40, help="sales per till per layout (default 40)")
    p.add_argument("--webhooks", type=int, default=400, help="deliveries per layout (0: none)")
    p.add_argument("--concurrency", type=int, default=16, help="deliveries in flight at once")
    p.add_argument(
        "--layouts", default="1x1,2x2", help="APIxWORKERS, comma-separated (default 1x1,2x2)"
    )
    p.add_argument("--seed", type=int, default=9)
    return p.parse_args(argv)


def step(text_: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text_}", flush=True)


def levels(db: Database) -> dict[tuple[str, str], int]:
    with db.unit_of_work() as s:
        rows = s.execute(
            select(Location.code, StockLevel.sku, StockLevel.on_hand).join(
                Location, Location.id == StockLevel.location_id
            )
        ).all()
    return {(loc, sku): int(n) for loc, sku, n in rows}


def store_orders(db: Database) -> int:
    with db.unit_of_work() as s:
        return (
            s.scalar(select(func.count()).select_from(Order).where(Order.channel == "store")) or 0
        )


async def sell(
    urls: Sequence[str],
    sessions: Sequence[TillSession],
    count: int,
    prices: dict[str, int],
    seed: int,
) -> tuple[list[tuple[SaleTiming, tuple[tuple[str, int], ...], str]], float]:
    """Each till back to back on its own connection to API process (till index mod APIs)."""
    skus = sorted(prices)

    async def till(n: int, session: TillSession) -> list[tuple[SaleTiming, tuple, str]]:
        rng = random.Random(seed * 1000 + n)
        out = []
        async with httpx.AsyncClient(base_url=urls[n % len(urls)], timeout=60) as http:
            for _ in range(count):
                items = basket(rng, prices, skus)
                out.append(
                    (await ring_up(http, session, items, f"scale-{n}"), items.lines, session.till)
                )
        return out

    t0 = time.perf_counter()
    per_till = await asyncio.gather(*[till(n, s) for n, s in enumerate(sessions)])
    return [x for xs in per_till for x in xs], time.perf_counter() - t0


def check_sales(
    db: Database,
    sold: Sequence[tuple[SaleTiming, tuple[tuple[str, int], ...], str]],
    before: dict[tuple[str, str], int],
    orders_before: int,
    layout: Layout,
) -> None:
    """One order per sale id, no other; each store's stock moved by exactly the units sold."""
    ids = [t.workflow_id for t, _, _ in sold]
    with db.unit_of_work() as s:
        found = s.scalar(select(func.count()).select_from(Order).where(Order.workflow_id.in_(ids)))
    if len(set(ids)) != len(ids) or found != len(ids):
        layout.problems.append(f"{found} orders for {len(ids)} sales ({len(set(ids))} ids)")
    extra = store_orders(db) - orders_before - len(ids)
    if extra:
        layout.problems.append(f"{extra} store orders beyond the sales")
    want: dict[tuple[str, str], int] = defaultdict(int)
    for _, lines, till in sold:
        for sku, qty in lines:
            want[(till[:3], sku)] -= qty
    after = levels(db)
    moved = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
    wrong = [k for k in moved if moved[k] != want.get(k, 0) and k[0] in ("BER", "LIS")]
    if wrong:
        k = wrong[0]
        layout.problems.append(
            f"stock moved wrong at {len(wrong)} SKU-stores, "
            f"e.g. {k}: {moved[k]} not {want.get(k, 0)}"
        )


def verify_orders(
    db: Database, shop: str, items: list[storm_bench.Delivery], layout: Layout
) -> None:
    unique = {d.order_id: d for d in items if not d.duplicate}
    with db.unit_of_work() as s:
        counts = s.execute(
            select(Order.external_id, func.count())
            .where(Order.external_source == "shopify", Order.external_id.like(f"{shop}:%"))
            .group_by(Order.external_id)
        ).all()
        held: dict[str, int] = dict(
            s.execute(
                text(
                    "SELECT reference, sum(quantity) FROM reservations WHERE kind = 'order' "
                    "AND status = 'active' AND reference LIKE :ref GROUP BY reference"
                ),
                {"ref": f"order:shopify:{shop}:%"},
            ).all()
        )
    if len(counts) != len(unique) or any(n != 1 for _, n in counts):
        layout.problems.append(f"{len(counts)} orders for {len(unique)} unique deliveries")
    for order_id, d in unique.items():
        want = sum(li["quantity"] for li in json.loads(d.body)["line_items"])
        got = held.get(f"order:shopify:{shop}:{order_id}", 0)
        if got != want:
            layout.problems.append(f"order {order_id}: units held {got}, not {want}")
            break


def processed(db: Database, shop: str) -> int:
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Order)
                .where(
                    Order.external_source == "shopify",
                    Order.external_id.like(f"{shop}:%"),
                    Order.status == "fulfilling",
                )
            )
            or 0
        )


def run_layout(
    stack: Stack, layout: Layout, args: argparse.Namespace, n: int, db: Database
) -> None:
    tills = tills_for(args.tills)
    step(
        f"layout {layout.name}: starting {layout.workers} central worker(s), {len(tills)} device "
        f"workers, {layout.apis} API process(es)"
    )
    apps = start_apps(stack, tills, {}, apis=layout.apis, workers=layout.workers)
    try:
        sessions = asyncio.run(sign_in(apps.api_urls[0], tills))
        asyncio.run(open_shifts(apps.api_urls[0], sessions))
        prices = shelf_prices(db)
        # warm-up: a few sales per till through every API process, not counted
        asyncio.run(sell(apps.api_urls, sessions, 3, prices, args.seed + 100 + n))
        time.sleep(2)
        before, orders_before = levels(db), store_orders(db)
        step(f"  {len(tills)} tills x {args.sales} sales, back to back")
        sold, layout.sales_wall = asyncio.run(
            sell(apps.api_urls, sessions, args.sales, prices, args.seed + n)
        )
        layout.sales = [t for t, _, _ in sold]
        time.sleep(3)  # receipts printed, drawers kicked: the sales' workflows complete
        check_sales(db, sold, before, orders_before, layout)
        if args.webhooks:
            shop = f"scale-shop-{n}"
            storm_bench.SHOP = shop  # the storm helpers read the module's SHOP
            storm_bench.connect_shop(apps.api_urls[0])
            items = storm_bench.deliveries(args.webhooks, 0.10, random.Random(args.seed + n))
            unique = sum(1 for d in items if not d.duplicate)
            step(
                f"  {len(items)} web-store deliveries ({unique} orders), "
                f"{args.concurrency} in flight"
            )
            res = storm_bench.Results()
            t0 = time.perf_counter()

            async def storms() -> None:
                # each API process gets every k-th delivery; duplicates still follow originals
                k = len(apps.api_urls)
                await asyncio.gather(
                    *[
                        storm_bench.storm(url, items[i::k], max(1, args.concurrency // k), res, 0.0)
                        for i, url in enumerate(apps.api_urls)
                    ]
                )

            asyncio.run(storms())
            deadline = time.monotonic() + 600
            while processed(db, shop) < unique:
                check_children(stack)
                if time.monotonic() > deadline:
                    raise StackError(f"only {processed(db, shop)} of {unique} orders processed")
                time.sleep(0.2)
            layout.orders_wall = time.perf_counter() - t0
            layout.orders = unique
            layout.acks = res.acks
            layout.problems += res.problems
            verify_orders(db, shop, items, layout)
    finally:
        stop_apps(stack)


def report(layouts: Sequence[Layout], args: argparse.Namespace) -> str:
    base = layouts[0]
    head = (
        f"{'layout':<22} {'sales/s':>8} {'x 1x1':>6} {'sale p50':>9} {'p99':>8}"
        f" {'orders/s':>9} {'x 1x1':>6} {'ack p99':>8}  exactly once"
    )
    lines = [
        f"scale-out: {args.tills} tills x {args.sales} sales, {args.webhooks} web-store "
        f"deliveries ({args.concurrency} in flight) per layout; one Temporal dev server, one "
        f"PostgreSQL; {os.cpu_count()} cores, load average {uptime()}",
        head,
        "-" * len(head),
    ]
    for lay in layouts:
        ms = [t.seconds * 1000 for t in lay.sales]
        acks = [a * 1000 for a in lay.acks]
        orders = (
            f"{lay.orders_rate:9.1f} {lay.orders_rate / base.orders_rate:5.2f}x "
            f"{percentile(acks, 99):7.1f}"
            if lay.orders and base.orders
            else f"{'-':>9} {'-':>6} {'-':>8}"
        )
        lines.append(
            f"{lay.name:<22} {lay.sales_rate:8.1f} {lay.sales_rate / base.sales_rate:5.2f}x"
            f" {percentile(ms, 50):8.1f} {percentile(ms, 99):8.1f} {orders}  "
            + ("yes" if not lay.problems else "NO: " + "; ".join(lay.problems[:3]))
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    layouts = []
    for part in args.layouts.split(","):
        a, w = part.lower().split("x")
        layouts.append(Layout(int(a), int(w)))
    try:
        with services(LIFTED_THROTTLES) as stack:
            step(f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}")
            seed(stack, seed_env(stack))
            db = Database(stack.database_url, pool_size=2)
            add_bench_tills(db, str(stack.var_dir / "receipts"))
            # card sales are not driven, but the workers want a Stripe: the local emulator
            os.environ["TILLFLOW_STRIPE_API_KEY"] = "sk_test_localstripe"
            os.environ["TILLFLOW_STRIPE_API_BASE"] = start_localstripe(stack)
            for n, layout in enumerate(layouts):
                run_layout(stack, layout, args, n, db)
                print(
                    f"  {layout.name}: {layout.sales_rate:.1f} sales/s, "
                    f"{layout.orders_rate:.1f} orders/s",
                    flush=True,
                )
            db.dispose()
            print("\n" + report(layouts, args) + "\n", flush=True)
            step("stopping everything")
    except KeyboardInterrupt:
        print("\ninterrupted; everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except (StackError, SaleFailed) as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        return 1
    return 0 if not any(lay.problems for lay in layouts) else 1


if __name__ == "__main__":
    sys.exit(main())
