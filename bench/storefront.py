"""Storefront at peak: concurrent shoppers fill carts and check out against a few hot SKUs.

    .venv/bin/python bench/storefront.py [--shoppers 200] [--carts 2] [--skus 50] [--stock 6]

Starts its own embedded PostgreSQL, Temporal dev server, localstripe (the Stripe emulator the
tests use), central worker (Cart and OnlineOrder workflows) and API on free ports in a temp dir,
connects a web store of our own (`platform: web`, a storefront key, locations BER and WH1), and
cuts the first `--skus` demo SKUs to `--stock` units at each of those locations, so the shoppers
want more than there is. Each of `--shoppers` shoppers (all at once, each its own
X-Shopper-Session) opens `--carts` carts one after the other; a cart gets 1-3 hot SKUs of 1-2
units (a 409 "cannot hold" line is left out, an empty cart is abandoned) and checks out with the
test card `pm_card_visa`.

Prints carts checked out per second, the checkout call's p50 / p99 (and each add-line call's),
and the oversell check: no stock level below zero or reserving more than it has, the units the
orders hold at most the stock, one order per checked-out cart. The floor, measured in the same run
on the same SKUs at another location (LIS, not in the web store), is bare PostgreSQL of the same
shape: each line held with the same statement the Cart uses (`reservations.set_quantity`, one
transaction per line, out of stock skipped), then the holds handed to an order in one transaction
(`reservations.adopt`), from 16 threads at once. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from _business import activity_times, connect_store, start_apps, start_localstripe, uptime
from _report import percentile
from _stack import (
    LIFTED_THROTTLES,
    WORKER_NICE,
    StackError,
    check_children,
    seed,
    seed_env,
    services,
)
from sqlalchemy import func, select, text

from db.models import Location, Order, StockLevel
from db.repositories import reservations, stock
from db.repositories.reservations import OutOfStock
from db.seed import demo_skus
from db.session import Database

SHOP = "peak-site"
WEB_LOCATIONS = ("BER", "WH1")
FLOOR_LOCATION = "LIS"
FLOOR_THREADS = 16


@dataclass
class Shopped:
    """What the shoppers saw."""

    checkouts: list[float] = field(default_factory=list)
    adds: list[float] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)
    refused_lines: int = 0
    retries: int = 0  # 503 (central system busy) / 429 answers retried after a pause
    errors: list[str] = field(default_factory=list)  # calls that failed even after retries
    abandoned: int = 0
    checked_out: dict[str, dict[str, int]] = field(default_factory=dict)  # cart -> {sku: units}
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0


@dataclass
class Floor:
    carts: int = 0
    checkouts: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)
    refused: int = 0
    wall: float = 0.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--shoppers", type=int, default=200, help="shoppers at once (default 200)")
    p.add_argument("--carts", type=int, default=2, help="carts each shopper checks out in turn")
    p.add_argument("--skus", type=int, default=50, help="hot SKUs (default 50)")
    p.add_argument(
        "--stock", type=int, default=6, help="units of each hot SKU at each web location"
    )
    p.add_argument(
        "--ramp", type=float, default=10.0, help="shoppers arrive spread over this many seconds"
    )
    p.add_argument(
        "--worker-nice",
        type=int,
        default=WORKER_NICE,
        help=f"CPU priority of the central worker (default {WORKER_NICE}, as `tillflow up`)",
    )
    p.add_argument("--seed", type=int, default=3)
    return p.parse_args(argv)


def step(text_: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text_}", flush=True)


def set_stock(db: Database, skus: Sequence[str], units: int) -> None:
    """Bring each hot SKU to `units` on hand at the web locations and the floor's location (a
    stock adjustment through the ledger, as the back office would)."""
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        locs = dict(s.execute(select(Location.code, Location.id)).all())
        for code in (*WEB_LOCATIONS, FLOOR_LOCATION):
            have = dict(
                s.execute(
                    select(StockLevel.sku, StockLevel.on_hand).where(
                        StockLevel.location_id == locs[code], StockLevel.sku.in_(skus)
                    )
                ).all()
            )
            moves = [
                stock.Movement(
                    sku, units - have.get(sku, 0), "adjustment", "bench", f"bench:{code}:{sku}"
                )
                for sku in skus
                if have.get(sku, 0) != units
            ]
            stock.apply_movements(s, locs[code], moves, workflow_id=None, occurred_at=now)


def baskets(rng: random.Random, skus: Sequence[str]) -> list[tuple[str, int]]:
    return [(sku, rng.randint(1, 2)) for sku in rng.sample(list(skus), rng.randint(1, 3))]


async def call(
    http: httpx.AsyncClient, out: Shopped, url: str, body: object, headers: dict[str, str]
) -> tuple[int, dict[str, Any], float]:
    """POST as a storefront would: a 503 or 429 (or a dropped connection) is tried again after
    its Retry-After (or 1 s), up to 5 times; the time is the whole call, retries included."""
    t0 = time.perf_counter()
    status, answer = 0, {}
    for attempt in range(6):
        try:
            r = await http.post(url, json=body, headers=headers)
        except httpx.TransportError as err:
            status, answer, wait = 0, {"error": repr(err)}, 1.0
        else:
            status, wait = r.status_code, float(r.headers.get("Retry-After") or 1)
            answer = r.json() if r.content else {}
        if status not in (0, 429, 503) or attempt == 5:
            break
        out.retries += 1
        await asyncio.sleep(wait)
    return status, answer, time.perf_counter() - t0


async def shopper(
    http: httpx.AsyncClient,
    key: str,
    n: int,
    delay: float,
    carts: int,
    skus: Sequence[str],
    seed: int,
    out: Shopped,
) -> None:
    rng = random.Random(seed * 100_003 + n)
    headers = {"X-Storefront-Key": key, "X-Shopper-Session": f"shopper-{n}"}
    await asyncio.sleep(delay)
    for _ in range(carts):
        status, answer, seconds = await call(
            http, out, "/storefront/carts", {}, {**headers, "Idempotency-Key": uuid.uuid4().hex}
        )
        out.opens.append(seconds)
        if status != 201:
            out.errors.append(f"open cart: {status} {str(answer)[:200]}")
            return
        cart = answer["cart_id"]
        held: dict[str, int] = {}
        for sku, qty in baskets(rng, skus):
            t0 = time.perf_counter()
            r = await http.post(
                f"/storefront/carts/{cart}/lines",
                json={"sku": sku, "quantity": qty},
                headers=headers,
            )
            out.adds.append(time.perf_counter() - t0)
            if r.status_code == 409:
                out.refused_lines += 1
            elif r.status_code == 200:
                held[sku] = qty
            else:
                out.problems.append(f"add line: {r.status_code} {r.text[:200]}")
        if not held:
            out.abandoned += 1
            continue
        body = {
            "email": f"shopper{n}@example.test",
            "name": f"Shopper {n}",
            "country": "DE",
            "payment_method": "pm_card_visa",
        }
        status, answer, seconds = await call(
            http,
            out,
            f"/storefront/carts/{cart}/checkout",
            body,
            {**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        out.checkouts.append(seconds)
        if status != 201:
            out.errors.append(f"checkout: {status} {str(answer)[:200]}")
            continue
        got = {ln["sku"]: ln["quantity"] for ln in answer["lines"]}
        if got != held:
            out.problems.append(f"cart {cart} held {held} but the order has {got}")
        out.checked_out[cart] = got


async def shop(api_url: str, key: str, args: argparse.Namespace, skus: Sequence[str]) -> Shopped:
    out = Shopped()
    limits = httpx.Limits(max_connections=args.shoppers, max_keepalive_connections=args.shoppers)
    async with httpx.AsyncClient(base_url=api_url, timeout=120, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(
            *[
                shopper(
                    http, key, n, args.ramp * n / args.shoppers, args.carts, skus, args.seed, out
                )
                for n in range(args.shoppers)
            ]
        )
        out.wall = time.perf_counter() - t0
    return out


def postgres_floor(db: Database, args: argparse.Namespace, skus: Sequence[str]) -> Floor:
    """The same carts, held and handed over with the Cart's own statements, at LIS."""
    with db.unit_of_work() as s:
        loc = s.scalar(select(Location.id).where(Location.code == FLOOR_LOCATION))
    assert loc is not None
    floor = Floor()
    rng = random.Random(args.seed)
    plans = [baskets(rng, skus) for _ in range(args.shoppers * args.carts)]

    def one(lines: list[tuple[str, int]]) -> None:
        cart = f"floor-{uuid.uuid4().hex[:16]}"
        held = 0
        for sku, qty in lines:
            t0 = time.perf_counter()
            try:
                with db.unit_of_work() as s:
                    reservations.set_quantity(
                        s,
                        kind="cart",
                        reference=cart,
                        location_id=loc,
                        sku=sku,
                        quantity=qty,
                        expires_at=None,
                    )
                held += 1
            except OutOfStock:
                floor.refused += 1
            floor.holds.append(time.perf_counter() - t0)
        if not held:
            return
        t0 = time.perf_counter()
        with db.unit_of_work() as s:
            reservations.adopt(
                s,
                from_kind="cart",
                from_reference=cart,
                to_kind="order",
                to_reference=f"order:{cart}",
                workflow_id=None,
            )
        floor.checkouts.append(time.perf_counter() - t0)
        floor.carts += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(FLOOR_THREADS) as pool:
        list(pool.map(one, plans))
    floor.wall = time.perf_counter() - t0
    return floor


def oversold(db: Database, skus: Sequence[str], units: int, res: Shopped) -> list[str]:
    """Stock never below zero nor over-reserved; units held for the orders and units checked out
    at most the stock; one order per checked-out cart, holding what the cart held."""
    problems = []
    web_stock = units * len(WEB_LOCATIONS)
    with db.unit_of_work() as s:
        locs = dict(s.execute(select(Location.id, Location.code)).all())
        levels = s.execute(
            select(
                StockLevel.location_id, StockLevel.sku, StockLevel.on_hand, StockLevel.reserved
            ).where(StockLevel.sku.in_(skus))
        ).all()
        orders = set(
            s.scalars(select(Order.workflow_id).where(Order.workflow_id.like("order:web:%")))
        )
        held: dict[str, int] = dict(
            s.execute(
                text(
                    "SELECT sku, sum(quantity) FROM reservations WHERE status = 'active' "
                    "AND kind = 'order' AND reference LIKE 'order:web:%' GROUP BY sku"
                )
            ).all()
        )
    for loc, sku, on_hand, reserved in levels:
        if on_hand < 0 or reserved > on_hand:
            problems.append(f"{sku}@{locs[loc]}: on hand {on_hand}, reserved {reserved}")
    sold: dict[str, int] = defaultdict(int)
    for lines in res.checked_out.values():
        for sku, n in lines.items():
            sold[sku] += n
    for sku in skus:
        if sold[sku] > web_stock or held.get(sku, 0) > web_stock:
            problems.append(
                f"{sku}: {sold[sku]} units checked out, {held.get(sku, 0)} held for orders, "
                f"only {web_stock} in stock"
            )
        if held.get(sku, 0) != sold[sku]:
            problems.append(f"{sku}: orders hold {held.get(sku, 0)}, checkouts took {sold[sku]}")
    missing = [c for c in res.checked_out if f"order:web:{c}" not in orders]
    if missing:
        problems.append(f"{len(missing)} checked-out carts have no order, e.g. {missing[0]}")
    if len(orders) != len(res.checked_out):
        problems.append(f"{len(orders)} web orders for {len(res.checked_out)} checkouts")
    return problems


def order_count(db: Database) -> int:
    with db.unit_of_work() as s:
        return (
            s.scalar(
                select(func.count()).select_from(Order).where(Order.workflow_id.like("order:web:%"))
            )
            or 0
        )


def ms(xs: Sequence[float], q: float) -> float:
    return percentile([x * 1000 for x in xs], q) if xs else float("nan")


def report(res: Shopped, floor: Floor, orders: int, acts: dict, args: argparse.Namespace) -> str:
    carts = len(res.checked_out)
    rate = carts / res.wall
    frate = floor.carts / floor.wall
    lines = [
        f"storefront: {args.shoppers} shoppers (arriving over {args.ramp:.0f} s), "
        f"{args.carts} carts each, {args.skus} hot "
        f"SKUs with {args.stock} units at each of {', '.join(WEB_LOCATIONS)}; {os.cpu_count()} "
        f"cores, load average {uptime()}",
        f"  central worker at nice {args.worker_nice} (TILLFLOW_WORKER_NICE)",
        f"  carts checked out              {carts} in {res.wall:.1f} s = {rate:6.1f} carts/s   "
        f"(floor {frate:7.1f} carts/s; {rate / frate:.3f}x)",
        f"  checkout call                  p50 {ms(res.checkouts, 50):7.1f} ms   "
        f"p99 {ms(res.checkouts, 99):7.1f} ms   (floor p50 {ms(floor.checkouts, 50):6.1f} ms, "
        f"p99 {ms(floor.checkouts, 99):6.1f} ms; "
        f"{ms(res.checkouts, 50) / ms(floor.checkouts, 50):.1f}x)",
        f"  add line call                  p50 {ms(res.adds, 50):7.1f} ms   "
        f"p99 {ms(res.adds, 99):7.1f} ms   (floor hold p50 {ms(floor.holds, 50):6.1f} ms; "
        f"{ms(res.adds, 50) / ms(floor.holds, 50):.1f}x)",
        f"  open cart call                 p50 {ms(res.opens, 50):7.1f} ms   "
        f"p99 {ms(res.opens, 99):7.1f} ms",
        f"  lines refused (cannot hold)    {res.refused_lines} (floor {floor.refused});   "
        f"carts abandoned empty {res.abandoned}",
        f"  web orders recorded            {orders} for {carts} checkouts",
        f"  busy answers retried (503/429) {res.retries};   calls failed after retries "
        f"{len(res.errors)}" + (f", e.g. {res.errors[0]}" if res.errors else ""),
        "  oversold                       "
        + ("0" if not res.problems else "PROBLEMS: " + "; ".join(res.problems[:5])),
    ]
    if acts:
        lines.append("  where the workflows' time goes (activities, medians):")
        for name, (n, queued, ran) in sorted(acts.items()):
            lines.append(
                f"    {name:<36} x{n:<5} queued {queued * 1000:7.1f} ms   run {ran * 1000:7.1f} ms"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    skus = [s for s in demo_skus() if s != "GIFT-CARD"][: args.skus]
    try:
        with services(LIFTED_THROTTLES, worker_nice=args.worker_nice) as stack:
            step(f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}")
            seed(stack, seed_env(stack))
            stripe = start_localstripe(stack)
            unlimited = "1000000/minute"
            extra = {
                "TILLFLOW_STRIPE_API_KEY": "sk_test_localstripe",
                "TILLFLOW_STRIPE_API_BASE": stripe,
                # peak sale: the retailer lifts the storefront's per-key / per-address limits
                "TILLFLOW_RATE_LIMIT_STOREFRONT_KEY": unlimited,
                "TILLFLOW_RATE_LIMIT_STOREFRONT_ADDRESS": unlimited,
            }
            step("starting the central worker and the API")
            apps = start_apps(stack, [], extra)
            answer = connect_store(
                apps.api_urls[0],
                {
                    "code": SHOP,
                    "platform": "web",
                    "name": "Peak site",
                    "currency": "EUR",
                    "pricing_location": "BER",
                    "storefront_key": True,
                    "locations": [{"location": c} for c in WEB_LOCATIONS],
                },
            )
            key = str(answer["storefront_key"])
            db = Database(stack.database_url, pool_size=FLOOR_THREADS)
            set_stock(db, skus, args.stock)
            step(
                f"PostgreSQL floor: {args.shoppers * args.carts} carts from {FLOOR_THREADS} threads"
            )
            floor = postgres_floor(db, args, skus)
            step(f"{args.shoppers} shoppers, {args.carts} carts each")
            t_start = time.time()
            res = asyncio.run(shop(apps.api_urls[0], key, args, skus))
            check_children(stack)
            deadline = time.monotonic() + 120
            while order_count(db) < len(res.checked_out) and time.monotonic() < deadline:
                time.sleep(0.5)
            orders = order_count(db)
            res.problems += oversold(db, skus, args.stock, res)
            acts = asyncio.run(
                activity_times(
                    stack.temporal_address,
                    "WorkflowType='OnlineOrder' OR WorkflowType='Cart'",
                    t_start,
                )
            )
            db.dispose()
            print("\n" + report(res, floor, orders, acts, args) + "\n", flush=True)
            step("stopping everything")
    except KeyboardInterrupt:
        print("\ninterrupted; everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except StackError as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        return 1
    return 0 if not res.problems else 1


if __name__ == "__main__":
    sys.exit(main())
