"""The sales report's loader: sold lines and refunded return lines of the range, aggregated in
PostgreSQL by every breakdown at once (GROUPING SETS), and the tenders that paid for the sales.

A sale belongs to the business day (store local time) it was placed on; a return to the day it
was made, so the report shows what was refunded in the range whenever the sale was."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from db.report_loaders.scope import Scope, read_frame, tune

# Orders that never became a sale (or were taken back whole before they were): not sales.
NOT_SOLD = ("cancelled", "canceled", "rejected", "failed", "expired")
# Payments that took money (a later refund shows under returns); creating / pending / voided /
# failed ones never did.
PAID = ("authorized", "captured", "completed", "refunded", "uncollected")

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
    """One row per sold line and per refunded return line, with every breakdown key."""
    bounds, bparams = scope.bounds()
    params |= bparams | {"not_sold": list(NOT_SOLD)}
    return f"""
    WITH b(location_id, utc_from, utc_to) AS ({bounds}),
    sold AS (
        SELECT o.location_id, o.currency, o.till_id, o.cashier_id, o.channel,
               o.fulfilment_type, coalesce(p.category, 'unknown') AS category,
               CAST(extract(hour FROM o.placed_at AT TIME ZONE l.timezone) AS integer) AS hour,
               ol.tax_rate_bp, o.id AS order_id, CAST(NULL AS bigint) AS return_pk,
               ol.quantity AS units, ol.gross + ol.discount AS gross, ol.discount,
               ol.net AS net_ex_tax, ol.tax,
               0 AS returned_units, 0 AS returned, 0 AS returned_net_ex_tax, 0 AS returned_tax
        FROM orders o
        JOIN b ON b.location_id = o.location_id
              AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
        JOIN locations l ON l.id = o.location_id
        JOIN order_lines ol ON ol.order_id = o.id
        LEFT JOIN variants v ON v.sku = ol.sku
        LEFT JOIN products p ON p.id = v.product_id
        WHERE o.status <> ALL(CAST(:not_sold AS varchar[])){_filters(scope, "o", params)}
    ),
    returned AS (
        SELECT r.location_id, r.currency, r.till_id, r.cashier_id,
               coalesce(o.channel, 'store') AS channel,
               coalesce(o.fulfilment_type, 'in_store') AS fulfilment_type,
               coalesce(p.category, 'unknown') AS category,
               CAST(extract(hour FROM r.created_at AT TIME ZONE l.timezone) AS integer) AS hour,
               ol.tax_rate_bp, CAST(NULL AS bigint) AS order_id, r.id AS return_pk,
               0 AS units, 0 AS gross, 0 AS discount, 0 AS net_ex_tax, 0 AS tax,
               rl.quantity AS returned_units, rl.refund_amount AS returned,
               rl.refund_amount - t.tax AS returned_net_ex_tax, t.tax AS returned_tax
        FROM returns r
        JOIN b ON b.location_id = r.location_id
              AND r.created_at >= b.utc_from AND r.created_at < b.utc_to
          AND r.created_at >= :env_from AND r.created_at < :env_to
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
        WHERE r.status = 'completed'{_filters(scope, "r", params)}
    )
    SELECT * FROM sold UNION ALL SELECT * FROM returned
    """


def load_facts(session: Session, scope: Scope) -> pd.DataFrame:
    """Every breakdown of the range's sales and returns, one row per group (column `dimension`
    names the breakdown; the keys it does not use are NULL)."""
    params: dict[str, Any] = {}
    rows = _rows_sql(scope, params)
    sets = ", ".join(
        "(currency" + "".join(f", {k}" for k in keys) + ")" for keys in DIMENSIONS.values()
    )
    # GROUPING() of every key, as a bit mask, tells which set a row belongs to.
    mask = "GROUPING(" + ", ".join(_KEYS) + ")"
    case = " ".join(f"WHEN {_mask_of(keys)} THEN '{name}'" for name, keys in DIMENSIONS.items())
    sql = f"""
    WITH g AS (
        SELECT CASE {mask} {case} END AS dimension, currency, {", ".join(_KEYS)},
               count(DISTINCT order_id) AS orders, count(DISTINCT return_pk) AS returns_count,
               sum(units) AS units, sum(gross) AS gross, sum(discount) AS discounts,
               sum(net_ex_tax) AS net_ex_tax, sum(tax) AS tax,
               sum(returned_units) AS returned_units, sum(returned) AS returns,
               sum(returned_net_ex_tax) AS returned_net_ex_tax, sum(returned_tax) AS returned_tax
        FROM ({rows}) x
        GROUP BY GROUPING SETS ({sets})
    )
    SELECT g.*, t.code AS till, coalesce(u.display_name, u.username) AS cashier
    FROM g
    LEFT JOIN tills t ON t.id = g.till_id
    LEFT JOIN users u ON u.id = g.cashier_id
    ORDER BY g.dimension, g.location_id, g.currency
    """
    frame = read_frame(session, sql, params)
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


def _mask_of(keys: tuple[str, ...]) -> int:
    """The GROUPING() bit mask of a set using `keys` (a bit is 1 for a key left out; the first
    key is the highest bit)."""
    n = len(_KEYS)
    return sum(1 << (n - 1 - i) for i, k in enumerate(_KEYS) if k not in keys)


def load_tenders(session: Session, scope: Scope) -> pd.DataFrame:
    """What paid for the range's sales, by store and tender (location_id, currency, tender,
    payments, amount)."""
    bounds, params = scope.bounds()
    params |= {"not_sold": list(NOT_SOLD), "paid": list(PAID)}
    where = _filters(scope, "o", params)
    sql = f"""
    WITH b(location_id, utc_from, utc_to) AS ({bounds})
    SELECT o.location_id, py.currency, py.tender, count(*) AS payments,
           sum(py.amount) AS amount
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    JOIN payments py ON py.workflow_id = o.workflow_id
    WHERE o.status <> ALL(CAST(:not_sold AS varchar[]))
      AND py.status = ANY(CAST(:paid AS varchar[])){where}
    GROUP BY o.location_id, py.currency, py.tender
    ORDER BY o.location_id, py.currency, py.tender
    """
    frame = read_frame(session, sql, params)
    for col in ("payments", "amount"):
        frame[col] = frame[col].astype("int64")
    return frame


def load(session: Session, scope: Scope, ctx: object) -> dict[str, pd.DataFrame]:
    """The sales report's frames: `facts` (every breakdown), `tenders`, `stores` (the scope)."""
    from db.report_loaders.wallets import load_wallets  # issue 19 (it imports this module)

    tune(session)
    return {
        "facts": load_facts(session, scope),
        "tenders": load_tenders(session, scope),
        "wallets": load_wallets(session, scope),  # issue 19: card payments by wallet
        "stores": scope.stores[["location_id", "code", "name", "currency"]].copy(),
    }
