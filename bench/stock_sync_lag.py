"""Stock sync lag: tills sell at a steady rate; how long until the web store's API hears of each
change of available-to-promise.

    .venv/bin/python bench/stock_sync_lag.py [--rate 20] [--seconds 20] [--tills 4]
                                             [--debounce-ms 500] [--max-delay-ms 5000]

Starts its own embedded PostgreSQL, Temporal dev server, central worker (which runs StockSync),
device workers and API on free ports in a temp dir, and a fake Shopify Admin API in this process
(tests/helpers/fake_shopify.py) that every demo SKU is listed in, at a Shopify location for Berlin
and one for Lisbon. Then the tills sell `--rate` sales a second (open loop) for `--seconds`.

For every sale and each SKU in it, the lag is the time from the till's answer (the stock
movement is committed before it) to the first `inventory_levels/set` call on the fake shop that
carries that change (a number at most the stock left after all sales answered by then). Printed:
p50 / p95 / p99 / max, with the debounce window, and the floor measured in the same run: the
debounce itself plus a bare HTTP call to the same fake shop. At the end every number the shop holds
must equal tillflow's available-to-promise. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _business import activity_times, connect_store, sell_at_rate, start_apps, uptime
from _report import percentile
from _stack import LIFTED_THROTTLES, StackError, check_children, seed, seed_env, services
from _tills import SaleFailed, open_shifts, shelf_prices, sign_in, tills_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.fake_shopify import FakeShopifyServer  # noqa: E402  # tests/ on the path first

from activities.stock_sync import targets  # noqa: E402
from db.repositories import stock_sync, webstores  # noqa: E402
from db.seed import demo_skus  # noqa: E402
from db.session import Database  # noqa: E402
from tillflow.settings import Settings  # noqa: E402

SHOP = "lag-shop"
SLACK_S = 1.0  # the target: p99 <= debounce + 1 s
DEFAULTS = Settings.model_fields


@dataclass
class Results:
    lags: list[float] = field(default_factory=list)
    missing: int = 0
    sale_seconds: list[float] = field(default_factory=list)
    sales: int = 0
    wall: float = 0.0
    http_floor: list[float] = field(default_factory=list)
    pushes: int = 0
    failed: int = 0
    activities: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rate", type=float, default=20.0, help="sales per second (default 20)")
    p.add_argument("--seconds", type=float, default=20.0, help="how long the tills sell")
    p.add_argument("--tills", type=int, default=4, help="tills selling, in turn (default 4)")
    p.add_argument(
        "--debounce-ms",
        type=int,
        default=DEFAULTS["stock_sync_debounce_ms"].default,
        help="TILLFLOW_STOCK_SYNC_DEBOUNCE_MS (default: the setting's default)",
    )
    p.add_argument(
        "--max-delay-ms",
        type=int,
        default=DEFAULTS["stock_sync_max_delay_ms"].default,
        help="TILLFLOW_STOCK_SYNC_MAX_DELAY_MS (default: the setting's default)",
    )
    p.add_argument("--http-floor-calls", type=int, default=200)
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args(argv)


def step(text_: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text_}", flush=True)


def list_everything(db: Database, fake: FakeShopifyServer, skus: Sequence[str]) -> dict[str, int]:
    """Every SKU as a Shopify variant, listed for the shop, and queued once; {sku: item id}."""
    items = {}
    with db.unit_of_work() as s:
        store = webstores.store(s, SHOP, active_only=True)
        assert store is not None
        for sku in skus:
            v = fake.add_variant(sku)
            items[sku] = int(v["inventory_item_id"])
            webstores.upsert_listing(
                s,
                store.id,
                sku,
                product_id=str(v["product_id"]),
                variant_id=str(v["id"]),
                inventory_item_id=str(v["inventory_item_id"]),
            )
        stock_sync.enqueue(s, list(skus))
    return items


def wait_synced(
    stack_check: object, db: Database, fake: FakeShopifyServer, want: int, timeout: float = 120
) -> None:
    """Until the stock-sync queue is empty and the shop holds `want` numbers."""
    deadline = time.monotonic() + timeout
    while True:
        with db.unit_of_work() as s:
            left = stock_sync.pending(s)
        with fake.lock:
            have = len(fake.levels)
        if left == 0 and have >= want:
            return
        if time.monotonic() > deadline:
            raise StackError(
                f"stock sync did not settle: {left} SKUs queued, {have}/{want} numbers"
            )
        check = stack_check
        assert callable(check)
        check()
        time.sleep(0.2)


def http_floor(fake: FakeShopifyServer, location: int, calls: int) -> list[float]:
    """A bare `inventory_levels/set` call to the same fake shop (an unlisted variant), timed."""
    item = int(fake.add_variant("BENCH-FLOOR")["inventory_item_id"])
    out = []
    with httpx.Client(base_url=fake.url, timeout=10) as http:
        for n in range(calls + 10):
            t0 = time.perf_counter()
            r = http.post(
                "/admin/api/2025-01/inventory_levels/set.json",
                json={"location_id": location, "inventory_item_id": item, "available": n},
                headers={"X-Shopify-Access-Token": fake.token},
            )
            if n >= 10:
                out.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return out


def lags(
    sales: Sequence[tuple[float, float, tuple[tuple[str, int], ...], str]],
    pushes: Sequence[tuple[float, int, int, int]],
    items: dict[str, int],
    locations: dict[str, int],
    baseline: dict[tuple[int, int], int],
    res: Results,
) -> None:
    """For each (sale, SKU): from the answer to the first push carrying it (see the module doc)."""
    by_key: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
    for at, item, loc, available in pushes:
        by_key[(item, loc)].append((at, available))
    sold: dict[tuple[int, int], int] = defaultdict(int)
    for sent, received, lines, store in sorted(sales, key=lambda x: x[1]):
        for sku, qty in lines:
            key = (items[sku], locations[store])
            sold[key] += qty
            bound = baseline[key] - sold[key]
            hit = next((at for at, avail in by_key[key] if at >= sent and avail <= bound), None)
            if hit is None:
                res.missing += 1
            else:
                res.lags.append(max(0.0, hit - received))


def run(args: argparse.Namespace) -> Results:
    res = Results()
    tills = tills_for(args.tills)
    fake = FakeShopifyServer().start()
    try:
        with services(LIFTED_THROTTLES) as stack:
            step(f"services up in {stack.var_dir}; Temporal at {stack.temporal_address}")
            seed(stack, seed_env(stack))
            extra = {
                "TILLFLOW_STOCK_SYNC_DEBOUNCE_MS": str(args.debounce_ms),
                "TILLFLOW_STOCK_SYNC_MAX_DELAY_MS": str(args.max_delay_ms),
            }
            step(f"starting the central worker, {len(tills)} device workers and the API")
            apps = start_apps(stack, tills, extra)
            ber, lis = fake.add_location(), fake.add_location()
            locations = {"BER": ber, "LIS": lis}
            connect_store(
                apps.api_urls[0],
                {
                    "code": SHOP,
                    "platform": "shopify",
                    "currency": "EUR",
                    "shop_domain": "lag.myshopify.com",
                    "api_base_url": fake.url,
                    "webhook_secret": "shpss_lag",
                    "access_token": fake.token,
                    "locations": [
                        {"location": "BER", "external_id": str(ber)},
                        {"location": "LIS", "external_id": str(lis)},
                    ],
                },
            )
            db = Database(stack.database_url, pool_size=2)
            skus = [s for s in demo_skus() if s != "GIFT-CARD"]
            step(f"listing {len(skus)} SKUs in the fake shop; waiting for the first full push")
            items = list_everything(db, fake, skus)
            wait_synced(lambda: check_children(stack), db, fake, 2 * len(skus))
            with fake.lock:
                baseline = dict(fake.levels)
                before = len(fake.seen)
            step(f"bare HTTP floor: {args.http_floor_calls} inventory_levels/set calls")
            res.http_floor = http_floor(fake, ber, args.http_floor_calls)
            with fake.lock:
                before = len(fake.seen)
            prices = shelf_prices(db)
            sessions = asyncio.run(sign_in(apps.api_urls[0], tills))
            asyncio.run(open_shifts(apps.api_urls[0], sessions))
            load_start = time.time()
            step(f"selling {args.rate:.0f} sales/s at {len(tills)} tills for {args.seconds:.0f} s")
            sold, res.wall, res.failed = asyncio.run(
                sell_at_rate(
                    apps.api_urls,
                    sessions,
                    args.rate,
                    args.seconds,
                    prices,
                    args.seed,
                    "lag",
                    skus=[s for s in prices if s in items],
                    max_in_flight=4 * len(tills),
                )
            )
            res.sales = len(sold)
            res.sale_seconds = [t.seconds for t, _, _ in sold]
            step("waiting for the last changes to reach the shop")
            time.sleep(args.max_delay_ms / 1000 + 1)
            wait_synced(lambda: check_children(stack), db, fake, 2 * len(skus))
            clock = time.time() - time.monotonic()  # the fake stamps with monotonic()
            with fake.lock:
                pushes = [
                    (
                        s.at + clock,
                        int(s.body["inventory_item_id"]),
                        int(s.body["location_id"]),
                        int(s.body["available"]),
                    )
                    for s in fake.seen[before:]
                    if s.path.endswith("inventory_levels/set.json")
                ]
                final = dict(fake.levels)
            res.pushes = len(pushes)
            res.activities = asyncio.run(
                activity_times(stack.temporal_address, "WorkflowId='stocksync'", load_start)
            )
            store_of = {t: t[:3] for t in tills}
            lags(
                [(t.sent_at, t.received_at, lines, store_of[till]) for t, lines, till in sold],
                pushes,
                items,
                locations,
                baseline,
                res,
            )
            with db.unit_of_work() as s:
                store = webstores.store(s, SHOP, active_only=True)
            assert store is not None
            wrong = []
            for sku in skus:
                for ext, want in targets(db, store, sku).items():
                    if final.get((items[sku], int(ext))) != want:
                        wrong.append(
                            f"{sku}@{ext}: shop {final.get((items[sku], int(ext)))}, "
                            f"tillflow {want}"
                        )
            if wrong:
                res.problems.append(f"{len(wrong)} numbers differ at the end, e.g. {wrong[:3]}")
            if res.missing:
                res.problems.append(f"{res.missing} changes never reached the shop")
            db.dispose()
            step("stopping everything")
    finally:
        fake.stop()
    return res


def report(res: Results, args: argparse.Namespace) -> str:
    ms = [x * 1000 for x in res.lags]
    http = percentile([x * 1000 for x in res.http_floor], 50)
    floor = args.debounce_ms + http
    p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
    target = args.debounce_ms + SLACK_S * 1000
    over = sum(1 for x in ms if x > target)
    sale = [x * 1000 for x in res.sale_seconds]
    lines = [
        f"stock sync lag: {res.sales} sales at {res.sales / res.wall:.1f}/s "
        f"(asked {args.rate:.0f}/s, at most {4 * args.tills} in flight; {res.failed} failed) "
        f"at {args.tills} tills for {res.wall:.1f} s, "
        f"{os.cpu_count()} cores, load average {uptime()}",
        f"  debounce window {args.debounce_ms} ms (TILLFLOW_STOCK_SYNC_DEBOUNCE_MS), max delay "
        f"{args.max_delay_ms} ms, poll {200} ms",
        f"  sale at the till               p50 {percentile(sale, 50):7.1f} ms   "
        f"p99 {percentile(sale, 99):7.1f} ms",
        f"  floor: bare HTTP call          p50 {http:7.1f} ms   "
        f"p99 {percentile([x * 1000 for x in res.http_floor], 99):7.1f} ms",
        f"  floor: debounce + HTTP call        {floor:7.1f} ms",
        f"  lag, change -> shop API call   p50 {p50:7.1f} ms ({p50 / floor:.2f}x floor)   "
        f"p95 {p95:7.1f} ms   p99 {p99:7.1f} ms ({p99 / floor:.2f}x floor)   "
        f"max {max(ms):7.1f} ms   (n = {len(ms)})",
        f"  changes later than debounce + {SLACK_S:.0f} s  {over} of {len(ms)}",
        f"  inventory_levels/set calls     {res.pushes} for {len(ms)} changes "
        f"({len(ms) / max(1, res.pushes):.1f} changes per call)",
        f"  shop equals tillflow at end    "
        f"{'yes' if not res.problems else 'NO: ' + '; '.join(res.problems)}",
        f"  target p99 <= debounce + {SLACK_S:.0f} s ({target:.0f} ms)   "
        f"{'met' if p99 <= target else 'MISSED'} ({p99:.0f} ms)",
    ]
    lines.append("  where StockSync's time goes (its history, during the load):")
    for name, (n, queued, ran) in sorted(res.activities.items()):
        lines.append(
            f"    {name:<28} x{n:<5} median queued {queued * 1000:7.1f} ms   "
            f"median run {ran * 1000:7.1f} ms"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        res = run(args)
    except KeyboardInterrupt:
        print("\ninterrupted; everything the benchmark started is stopped", file=sys.stderr)
        return 130
    except (StackError, SaleFailed) as err:
        print(f"\nbenchmark failed: {err}", file=sys.stderr)
        return 1
    print("\n" + report(res, args) + "\n", flush=True)
    return 0 if not res.problems else 1


if __name__ == "__main__":
    sys.exit(main())
