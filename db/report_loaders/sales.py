"""The sales report's loader: sold lines and refunded return lines of the range, aggregated in
PostgreSQL by every breakdown at once (GROUPING SETS), and the tenders that paid for the sales.

A sale belongs to the business day (store local time) it was placed on; a return to the day it
was made, so the report shows what was refunded in the range whenever the sale was."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.report_loaders.scope import Scope, read_frame, tune

# Orders that never became a sale (or were taken back whole before they were): not sales.
NOT_SOLD = ("cancelled", "canceled", "rejected", "failed", "expired")
# Payments that took money (a later refund shows under returns); creating / pending / voided /
# failed ones never did.
PAID = ("authorized", "captured", "completed", "refunded", "uncollected")

# Ranges shorter than this many days are read by index lookups (see `load`).
LOOKUP_DAYS = 7
# hash_mem_multiplier for the facts statement (PostgreSQL's default 2: work_mem × 2 per hash)
FACTS_HASH_MEM_MULTIPLIER = 16

# The breakdowns: each a grouping set over the store (and its currency) plus its own keys. The
# hour of day and the all-stores total are also given across stores, per currency.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "store": ("location_id",),
    "till": ("location_id", "till_id"),
    "cashier": ("location_id", "cashier_id"),
    "channel": ("location_id", "channel"),
    "fulfilment": ("location_id", "fulfilment_type"),
    "category": ("location_id", "category"),
    "hour": ("location_id", "hour"),
    "rate": ("location_id", "tax_rate_bp"),
    "all_hour": ("hour",),
    "all_channel": ("channel",),
    "all": (),
}
_KEYS = (
    "location_id",
    "till_id",
    "cashier_id",
    "channel",
    "fulfilment_type",
    "category",
    "hour",
    "tax_rate_bp",
)


def _filters(scope: Scope, alias: str, params: dict[str, Any]) -> str:
    """The till and channel filters of the scope on an order-like row `alias`."""
    where = ""
    if scope.till_ids:
        params["till_ids"] = list(scope.till_ids)
        where += f" AND {alias}.till_id = ANY(CAST(:till_ids AS integer[]))"
    if scope.channels:
        params["channels"] = list(scope.channels)
        where += " AND {ch} = ANY(CAST(:channels AS varchar[]))".format(
            ch="o.channel" if alias == "o" else "coalesce(o.channel, 'store')"
        )
    return where


def _rows_sql(scope: Scope, params: dict[str, Any]) -> str:
    """Two CTEs: `sold`, one row per sold line, and `returned`, one per refunded return line,
    each with every breakdown key and its own measures. The window
    is `Scope.window` (constants per timezone), so PostgreSQL knows how many rows a day is."""
    sold_window, sparams = scope.window("o.location_id", "o.placed_at", "ws")
    returned_window, rparams = scope.window("r.location_id", "r.created_at", "wr")
    params |= sparams | rparams | {"not_sold": list(NOT_SOLD)}
    return f"""
    sold AS (
        SELECT o.location_id, o.currency, o.till_id, o.cashier_id, o.channel,
               o.fulfilment_type, coalesce(p.category, 'unknown') AS category,
               CAST(extract(hour FROM o.placed_at AT TIME ZONE l.timezone) AS integer) AS hour,
               ol.tax_rate_bp, o.id AS order_id,
               ol.quantity AS units, ol.gross + ol.discount AS gross, ol.discount,
               ol.net AS net_ex_tax, ol.tax
        FROM orders o
        JOIN locations l ON l.id = o.location_id
        JOIN order_lines ol ON ol.order_id = o.id
        LEFT JOIN variants v ON v.sku = ol.sku
        LEFT JOIN products p ON p.id = v.product_id
        WHERE {sold_window}
          AND o.status <> ALL(CAST(:not_sold AS varchar[])){_filters(scope, "o", params)}
    ),
    returned AS (
        SELECT r.location_id, r.currency, r.till_id, r.cashier_id,
               coalesce(o.channel, 'store') AS channel,
               coalesce(o.fulfilment_type, 'in_store') AS fulfilment_type,
               coalesce(p.category, 'unknown') AS category,
               CAST(extract(hour FROM r.created_at AT TIME ZONE l.timezone) AS integer) AS hour,
               ol.tax_rate_bp, r.id AS return_pk,
               rl.quantity AS returned_units, rl.refund_amount AS returned,
               rl.refund_amount - t.tax AS returned_net_ex_tax, t.tax AS returned_tax
        FROM returns r
        JOIN locations l ON l.id = r.location_id
        JOIN return_lines rl ON rl.return_pk = r.id
        LEFT JOIN orders o ON o.id = r.order_id
        LEFT JOIN order_lines ol ON ol.order_id = r.order_id AND ol.line_no = rl.order_line_no
        LEFT JOIN variants v ON v.sku = rl.sku
        LEFT JOIN products p ON p.id = v.product_id
        -- the tax in a refund is the original line's share of tax (none known: receiptless)
        CROSS JOIN LATERAL (
            SELECT coalesce(round(rl.refund_amount * ol.tax / nullif(ol.gross, 0.0)), 0)
                   AS tax) t
        WHERE {returned_window}
          AND r.status = 'completed'{_filters(scope, "r", params)}
    )"""


# The finest grains the breakdowns need: every order-level key (an order has one store, till,
# cashier, channel, fulfilment type and hour), and the line-level ones (category, tax rate).
_ORDER_GRAIN = ("location_id", "till_id", "cashier_id", "channel", "fulfilment_type", "hour")
_LINE_GRAIN = ("location_id", "category", "tax_rate_bp")
_SUMS = (
    "units",
    "gross",
    "discounts",
    "net_ex_tax",
    "tax",
    "returned_units",
    "returns",
    "returned_net_ex_tax",
    "returned_tax",
)


def load_facts(session: Session, scope: Scope) -> pd.DataFrame:
    """Every breakdown of the range's sales and returns, one row per group (column `dimension`
    names the breakdown; the keys it does not use are NULL).

    Each line is marked when it is the first of its order (or return), of its order and
    category, and of its order and tax rate (window functions over one sort of the lines by
    order), so an order or return count is a sum like the money. The lines are then summed
    once to the finest order-level grain and once to (store, category, tax rate), a few
    thousand rows, and every breakdown is rolled up from those: no `count(DISTINCT)` sorting
    every line again for each breakdown, and two hash tables over the lines instead of
    eleven."""
    params: dict[str, Any] = {}
    rows = _rows_sql(scope, params)
    # Stage 1: the lines to the two fine grains (GROUPING(category) tells them apart), the
    # sold lines and the returned ones apart (each has its own measures and its own count).
    fine_sets = f"(currency, {', '.join(_ORDER_GRAIN)}), (currency, {', '.join(_LINE_GRAIN)})"

    def counted(kind: str, line_grain: int) -> str:  # an order (or return) once per group
        if not line_grain:
            return f"sum({kind}_one)"
        return f"CASE WHEN GROUPING(category) = 0 THEN sum({kind}_cat) ELSE sum({kind}_rate) END"

    sold_sums = {
        "units": "units",
        "gross": "gross",
        "discounts": "discount",
        "net_ex_tax": "net_ex_tax",
        "tax": "tax",
    }
    returned_sums = {
        "returned_units": "returned_units",
        "returns": "returned",
        "returned_net_ex_tax": "returned_net_ex_tax",
        "returned_tax": "returned_tax",
    }

    def fine(part: str, kind: str, key: str, sums: dict[str, str]) -> str:
        """A part's lines, each marked first of its order (or return) and of its order and
        category / tax rate, summed to the two fine grains."""
        measures = ", ".join(
            f"sum({sums[col]}) AS {col}" if col in sums else f"0 AS {col}" for col in _SUMS
        )
        # the same columns in the same order in both parts (UNION ALL goes by position)
        counts = ", ".join(
            f"sum(first_{c}) AS {k}_{c}" if k == kind else f"0 AS {k}_{c}"
            for k in ("order", "return")
            for c in ("one", "cat", "rate")
        )
        return f"""
        SELECT GROUPING(category) # 1 AS line_grain, currency, {", ".join(_KEYS)},
               {counts}, {measures}
        FROM (
            SELECT {part}.*,
                   CASE WHEN row_number() OVER one = 1 THEN 1 ELSE 0 END AS first_one,
                   CASE WHEN row_number() OVER cat = 1 THEN 1 ELSE 0 END AS first_cat,
                   CASE WHEN row_number() OVER rate = 1 THEN 1 ELSE 0 END AS first_rate
            FROM {part}
            WINDOW one AS (PARTITION BY {key}),
                   cat AS (PARTITION BY {key}, category),
                   rate AS (PARTITION BY {key}, tax_rate_bp)
        ) y
        GROUP BY GROUPING SETS ({fine_sets})"""

    stage2_sums = ", ".join(f"sum({col}) AS {col}" for col in _SUMS)

    def rollup(line_grain: int) -> str:
        """Stage 2: the breakdowns of one grain, from its rows of `fine`."""
        dims = {
            name: keys
            for name, keys in DIMENSIONS.items()
            if (("category" in keys or "tax_rate_bp" in keys) == bool(line_grain))
        }
        used = [k for k in _KEYS if any(k in keys for keys in dims.values())]
        gsets = ", ".join(
            "(currency" + "".join(f", {k}" for k in keys) + ")" for keys in dims.values()
        )
        # GROUPING() of the grain's keys, as a bit mask, tells which set a row belongs to.
        bits = {
            name: sum(1 << (len(used) - 1 - i) for i, k in enumerate(used) if k not in keys)
            for name, keys in dims.items()
        }
        case = " ".join(f"WHEN {bit} THEN '{name}'" for name, bit in bits.items())
        keys_out = ", ".join(k if k in used else f"NULL AS {k}" for k in _KEYS)
        return f"""
        SELECT CASE GROUPING({", ".join(used)}) {case} END AS dimension, currency, {keys_out},
               {counted("order", line_grain)} AS orders,
               {counted("return", line_grain)} AS returns_count,
               {stage2_sums}
        FROM fine WHERE line_grain = {line_grain}
        GROUP BY GROUPING SETS ({gsets})"""

    sql = f"""
    WITH {rows},
    fine AS MATERIALIZED (
        {fine("sold", "order", "order_id", sold_sums)}
        UNION ALL {fine("returned", "return", "return_pk", returned_sums)}
    ),
    g AS (
        {rollup(0)}
        UNION ALL {rollup(1)}
    )
    SELECT g.*, t.code AS till, coalesce(u.display_name, u.username) AS cashier
    FROM g
    LEFT JOIN tills t ON t.id = g.till_id
    LEFT JOIN users u ON u.id = g.cashier_id
    ORDER BY g.dimension, g.location_id, g.currency, {", ".join("g." + k for k in _KEYS[1:])}
    """
    # The planner guesses far more fine groups than there are (it multiplies the keys'
    # distinct values; a store has a few tills, cashiers and hours): with PostgreSQL's default
    # hash memory it would sort a month's 7 million lines twice instead of hashing them into
    # some 60,000 groups. Raised for this statement only.
    previous = session.execute(text("SELECT current_setting('hash_mem_multiplier')")).scalar()
    session.execute(text(f"SET LOCAL hash_mem_multiplier = {FACTS_HASH_MEM_MULTIPLIER}"))
    try:
        frame = read_frame(session, sql, params)
    finally:
        session.execute(text("SELECT set_config('hash_mem_multiplier', :v, true)"), {"v": previous})
    for col in _MONEY_AND_COUNTS:
        frame[col] = frame[col].fillna(0).astype("int64")
    return frame


_MONEY_AND_COUNTS = (
    "orders",
    "returns_count",
    "units",
    "gross",
    "discounts",
    "net_ex_tax",
    "tax",
    "returned_units",
    "returns",
    "returned_net_ex_tax",
    "returned_tax",
)


def load_tenders(session: Session, scope: Scope) -> pd.DataFrame:
    """What paid for the range's sales, by store and tender (location_id, currency, tender,
    payments, amount)."""
    return load_tenders_and_wallets(session, scope)[0]


def load_tenders_and_wallets(session: Session, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tender mix (as `load_tenders`) and the card payments by wallet (as
    db/report_loaders/wallets.py `load_wallets`: location_id, currency, wallet, payments,
    amount) from one pass over the range's payments: one grouping set each."""
    window, params = scope.window("o.location_id", "o.placed_at")
    params |= {"not_sold": list(NOT_SOLD), "paid": list(PAID)}
    where = _filters(scope, "o", params)
    sql = f"""
    SELECT GROUPING(py.tender) AS by_wallet, o.location_id, py.currency, py.tender,
           py.card_wallet AS wallet, count(*) AS payments, sum(py.amount) AS amount,
           count(*) FILTER (WHERE py.tender = 'card') AS card_payments,
           sum(py.amount) FILTER (WHERE py.tender = 'card') AS card_amount
    FROM orders o
    JOIN payments py ON py.workflow_id = o.workflow_id
    WHERE {window}
      AND o.status <> ALL(CAST(:not_sold AS varchar[]))
      AND py.status = ANY(CAST(:paid AS varchar[])){where}
    GROUP BY GROUPING SETS ((o.location_id, py.currency, py.tender),
                            (o.location_id, py.currency, py.card_wallet))
    ORDER BY 1, o.location_id, py.currency, py.tender, py.card_wallet
    """
    frame = read_frame(session, sql, params)
    tenders = frame[frame["by_wallet"] == 0][
        ["location_id", "currency", "tender", "payments", "amount"]
    ].reset_index(drop=True)
    wallets = frame[(frame["by_wallet"] == 1) & (frame["card_payments"] > 0)]
    wallets = wallets[["location_id", "currency", "wallet", "card_payments", "card_amount"]]
    wallets = wallets.rename(columns={"card_payments": "payments", "card_amount": "amount"})
    wallets = wallets.reset_index(drop=True)
    for f in (tenders, wallets):
        for col in ("payments", "amount"):
            f[col] = f[col].astype("int64")
    return tenders, wallets


def load(session: Session, scope: Scope, ctx: object) -> dict[str, pd.DataFrame]:
    """The sales report's frames: `facts` (every breakdown), `tenders`, `stores` (the scope)."""
    # A few days' lines and payments are looked up one by one by index
    # (REPORT_RANDOM_PAGE_COST): with the default the planner would rather read all 7 million
    # lines to hash them. A longer range reads most of the tables anyway: then in index order
    # or hashed, as the default prices it (priced as lookups, a month's payments would be
    # fetched in workflow-id order, one random page each).
    tune(session, lookups=(scope.date_to - scope.date_from).days < LOOKUP_DAYS)
    tenders, wallets = load_tenders_and_wallets(session, scope)
    return {
        "facts": load_facts(session, scope),
        "tenders": tenders,
        "wallets": wallets,  # issue 19: card payments by wallet (as wallets.load_wallets)
        "stores": scope.stores[["location_id", "code", "name", "currency"]].copy(),
    }
