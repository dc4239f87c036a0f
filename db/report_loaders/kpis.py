"""The KPI report's loader: one aggregated query per frame (sales, stock, stock-outs, pickups,
returns, refund times, sync failures, reconciliation discrepancies, checkout times). Each frame
gives numerators and denominators; reports/kpis.py divides them (docs/finance.md says how)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from db.report_loaders.sales import NOT_SOLD, PAID
from db.report_loaders.scope import Scope, read_frame, tune
from db.repositories import stock_closings

# Ledger reasons (db/repositories/stock.py callers): what a sale takes, what arrives, and the
# movements that say stock went missing (counts and adjustments, pick and transfer shortages).
SOLD_REASONS = ("sale", "online_order", "pickup", "sale_reversal")
RECEIVED_REASONS = ("receipt", "receipt_reversal", "transfer_in", "opening_balance")
SHRINK_REASONS = ("count", "pick_shortage", "transfer_short")  # and every "adjustment:…"
# Card tenders at a till that ended in one of these have a provider record to match.
CARD_SETTLED = ("captured", "completed", "refunded")
CARD_NORMAL = (*CARD_SETTLED, "voided")  # voided: a compensated sale, nothing was taken
SYNC_GRACE = "1 hour"  # a webhook delivery still not handed on after this has failed


def _b(scope: Scope) -> tuple[str, dict[str, Any]]:
    bounds, params = scope.bounds()
    return f"b(location_id, utc_from, utc_to) AS ({bounds})", dict(params)


def _ints(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = frame[c].fillna(0).astype("int64")
    return frame


def _floats(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = frame[c].fillna(0).astype("float64")
    return frame


def load_orders(session: Session, scope: Scope) -> pd.DataFrame:
    """Per store, channel and fulfilment type: orders, units, revenue (after discounts, tax
    included), net ex tax, cost of goods (lines with a cost in the store's currency) and the
    units without one; `location_kind` tells stores from warehouses."""
    b, params = _b(scope)
    params["not_sold"] = list(NOT_SOLD)
    where = ""
    if scope.till_ids:
        params["till_ids"] = list(scope.till_ids)
        where += " AND o.till_id = ANY(CAST(:till_ids AS integer[]))"
    if scope.channels:
        params["channels"] = list(scope.channels)
        where += " AND o.channel = ANY(CAST(:channels AS varchar[]))"
    sql = f"""
    WITH {b},
    per_order AS (
        SELECT o.id, o.location_id, o.currency, o.channel, o.fulfilment_type,
               sum(ol.quantity) AS units, sum(ol.gross) AS revenue, sum(ol.net) AS net_ex_tax,
               sum(ol.quantity * p.cost_price) FILTER (WHERE p.cost_price IS NOT NULL
                   AND coalesce(p.cost_currency, o.currency) = o.currency) AS cogs,
               sum(ol.quantity) FILTER (WHERE p.cost_price IS NULL
                   OR coalesce(p.cost_currency, o.currency) <> o.currency) AS uncosted_units,
               sum(ol.net) FILTER (WHERE p.cost_price IS NOT NULL
                   AND coalesce(p.cost_currency, o.currency) = o.currency) AS costed_net_ex_tax
        FROM orders o
        JOIN b ON b.location_id = o.location_id
              AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
        JOIN order_lines ol ON ol.order_id = o.id
        LEFT JOIN variants v ON v.sku = ol.sku
        LEFT JOIN products p ON p.id = v.product_id
        WHERE o.status <> ALL(CAST(:not_sold AS varchar[])){where}
        GROUP BY o.id
    )
    SELECT x.location_id, l.kind AS location_kind, x.currency, x.channel, x.fulfilment_type,
           count(*) AS orders, sum(x.units) AS units, sum(x.revenue) AS revenue,
           sum(x.net_ex_tax) AS net_ex_tax, sum(x.cogs) AS cogs,
           sum(x.costed_net_ex_tax) AS costed_net_ex_tax, sum(x.uncosted_units) AS uncosted_units
    FROM per_order x JOIN locations l ON l.id = x.location_id
    GROUP BY x.location_id, l.kind, x.currency, x.channel, x.fulfilment_type
    ORDER BY 1, 3, 4, 5
    """
    return _ints(
        read_frame(session, sql, params),
        "orders",
        "units",
        "revenue",
        "net_ex_tax",
        "cogs",
        "costed_net_ex_tax",
        "uncosted_units",
    )


_STOCK_COLUMNS = (
    "opening_units",
    "closing_units",
    "opening_cost",
    "closing_cost",
    "received_units",
    "sold_units",
    "shrink_units",
    "shrink_cost",
)


def load_stock_and_stockouts(session: Session, scope: Scope) -> pd.DataFrame:
    """Per store, in one pass over the stock movements since the range began: the stock figures
    of `load_stock` and the SKU-days of `load_stockouts`.

    The movements are summed per store, SKU and business day of the range (those after the range
    in one sum per store and SKU). A SKU's on hand at a day's end is on hand now less the
    sellable movements after that end; it only changes on the days it moved, so each day it moved
    starts a run of days with one closing figure (and the days before its first movement of the
    range have that day's opening): the SKU-days out of stock are counted run by run, not day
    by day (a month is 30 days of every stock level otherwise)."""
    if not scope.stores.empty and stock_closings.all_closed(
        session, scope.location_ids, scope.date_from - timedelta(days=1), scope.date_to
    ):
        return load_stock_and_stockouts_stored(session, scope)
    return load_stock_and_stockouts_live(session, scope)


def _stock_params(scope: Scope) -> tuple[str, dict[str, Any]]:
    b, params = _b(scope)
    params |= {
        "sold": list(SOLD_REASONS),
        "received": list(RECEIVED_REASONS),
        "shrink": list(SHRINK_REASONS),
        "date_from": scope.date_from,
        "date_to": scope.date_to,
        "day_before": scope.date_from - timedelta(days=1),
        "ndays": (scope.date_to - scope.date_from).days + 1,
    }
    return b, params


def load_stock_and_stockouts_stored(session: Session, scope: Scope) -> pd.DataFrame:
    """`load_stock_and_stockouts` from the stored closings (db/repositories/stock_closings.py)
    of the day before the range (the opening) and of each day of the range, every one closed:
    only the range's own movements are read (received, sold, lost). A SKU without a closing
    row closed that day with nothing, as the ledger would say."""
    b, params = _stock_params(scope)
    sql = f"""
    WITH {b},
    flows AS (
        SELECT m.location_id, m.sku,
               sum(m.delta) FILTER (WHERE m.bucket = 'sellable'
                   AND m.reason = ANY(CAST(:received AS varchar[]))) AS received,
               -sum(m.delta) FILTER (WHERE m.reason = ANY(CAST(:sold AS varchar[]))) AS sold,
               -sum(m.delta) FILTER (WHERE m.reason = ANY(CAST(:shrink AS varchar[]))
                   OR m.reason LIKE 'adjustment:%') AS shrink
        FROM stock_movements m
        JOIN b ON b.location_id = m.location_id
              AND m.occurred_at >= b.utc_from AND m.occurred_at < b.utc_to
        WHERE m.occurred_at >= :env_from AND m.occurred_at < :env_to
        GROUP BY 1, 2
    ),
    -- one day's closings each, by the primary key (business_day, location_id, sku)
    op AS (
        SELECT c.location_id, c.sku, c.on_hand FROM stock_closings c
        WHERE c.business_day = CAST(:day_before AS date)
          AND c.location_id IN (SELECT location_id FROM b)
    ),
    cl AS (
        SELECT c.location_id, c.sku, c.on_hand FROM stock_closings c
        WHERE c.business_day = CAST(:date_to AS date)
          AND c.location_id IN (SELECT location_id FROM b)
    ),
    -- the days of the range each SKU ended with stock (for one day: its closing says)
    ins AS (
        SELECT c.location_id, c.sku, count(*) AS days FROM stock_closings c
        WHERE CAST(:ndays AS integer) > 1
          AND c.business_day >= CAST(:date_from AS date)
          AND c.business_day <= CAST(:date_to AS date)
          AND c.location_id IN (SELECT location_id FROM b) AND c.on_hand > 0
        GROUP BY 1, 2
    ),
    lv AS (
        SELECT sl.location_id, l.currency,
               coalesce(op.on_hand, 0) AS opening, coalesce(cl.on_hand, 0) AS closing,
               coalesce(f.received, 0) AS received, coalesce(f.sold, 0) AS sold,
               coalesce(f.shrink, 0) AS shrink,
               CASE WHEN CAST(:ndays AS integer) > 1 THEN coalesce(ins.days, 0)
                    WHEN cl.on_hand > 0 THEN 1 ELSE 0 END AS in_stock_days,
               CASE WHEN p.cost_price IS NOT NULL
                         AND coalesce(p.cost_currency, l.currency) = l.currency
                    THEN p.cost_price END AS cost
        FROM stock_levels sl
        JOIN b ON b.location_id = sl.location_id
        JOIN locations l ON l.id = sl.location_id
        JOIN variants v ON v.sku = sl.sku
        JOIN products p ON p.id = v.product_id
        LEFT JOIN op ON op.location_id = sl.location_id AND op.sku = sl.sku
        LEFT JOIN cl ON cl.location_id = sl.location_id AND cl.sku = sl.sku
        LEFT JOIN ins ON ins.location_id = sl.location_id AND ins.sku = sl.sku
        LEFT JOIN flows f ON f.location_id = sl.location_id AND f.sku = sl.sku
        WHERE p.tracks_stock
    )
    SELECT lv.location_id, lv.currency,
           sum(greatest(lv.opening, 0)) AS opening_units,
           sum(greatest(lv.closing, 0)) AS closing_units,
           sum(greatest(lv.opening, 0) * lv.cost) AS opening_cost,
           sum(greatest(lv.closing, 0) * lv.cost) AS closing_cost,
           sum(lv.received) AS received_units, sum(lv.sold) AS sold_units,
           sum(lv.shrink) AS shrink_units, sum(lv.shrink * lv.cost) AS shrink_cost,
           count(*) * CAST(:ndays AS integer) AS sku_days,
           count(*) * CAST(:ndays AS integer) - sum(lv.in_stock_days) AS out_days
    FROM lv
    GROUP BY lv.location_id, lv.currency ORDER BY lv.location_id
    """
    return _ints(read_frame(session, sql, params), *_STOCK_COLUMNS, "sku_days", "out_days")


def load_stock_and_stockouts_live(session: Session, scope: Scope) -> pd.DataFrame:
    """`load_stock_and_stockouts` from the ledger: on hand now less the movements since."""
    b, params = _stock_params(scope)
    sql = f"""
    WITH {b},
    per AS (
        SELECT m.location_id, m.sku,
               CASE WHEN m.occurred_at < b.utc_to
                    THEN CAST(m.occurred_at AT TIME ZONE l.timezone AS date) END AS day,
               sum(m.delta) FILTER (WHERE m.bucket = 'sellable') AS delta,
               sum(m.delta) FILTER (WHERE m.bucket = 'sellable'
                   AND m.reason = ANY(CAST(:received AS varchar[]))) AS received,
               -sum(m.delta) FILTER (WHERE m.reason = ANY(CAST(:sold AS varchar[]))) AS sold,
               -sum(m.delta) FILTER (WHERE m.reason = ANY(CAST(:shrink AS varchar[]))
                   OR m.reason LIKE 'adjustment:%') AS shrink
        FROM stock_movements m
        JOIN b ON b.location_id = m.location_id AND m.occurred_at >= b.utc_from
        JOIN locations l ON l.id = m.location_id
        WHERE m.occurred_at >= :env_from
        GROUP BY 1, 2, 3
    ),
    mv AS (
        SELECT location_id, sku, sum(delta) AS after_from,
               sum(delta) FILTER (WHERE day IS NULL) AS after_to,
               sum(received) FILTER (WHERE day IS NOT NULL) AS received,
               sum(sold) FILTER (WHERE day IS NOT NULL) AS sold,
               sum(shrink) FILTER (WHERE day IS NOT NULL) AS shrink,
               bool_or(day IS NOT NULL) AS moved
        FROM per GROUP BY 1, 2
    ),
    lv AS (
        SELECT sl.location_id, sl.sku, l.currency,
               sl.on_hand - coalesce(mv.after_from, 0) AS opening,
               sl.on_hand - coalesce(mv.after_to, 0) AS closing,
               coalesce(mv.received, 0) AS received, coalesce(mv.sold, 0) AS sold,
               coalesce(mv.shrink, 0) AS shrink, coalesce(mv.moved, false) AS moved,
               CASE WHEN p.cost_price IS NOT NULL
                         AND coalesce(p.cost_currency, l.currency) = l.currency
                    THEN p.cost_price END AS cost
        FROM stock_levels sl
        JOIN b ON b.location_id = sl.location_id
        JOIN locations l ON l.id = sl.location_id
        JOIN variants v ON v.sku = sl.sku
        JOIN products p ON p.id = v.product_id
        LEFT JOIN mv ON mv.location_id = sl.location_id AND mv.sku = sl.sku
        WHERE p.tracks_stock
    ),
    -- one row per SKU and day it moved in the range: the closing of that day (closing at the
    -- range's end less the later days' movements), the days it holds (to the next day it
    -- moved), and for its first day the days before, which hold that day's opening
    runs AS (
        SELECT pr.location_id,
               lv.closing - coalesce(sum(coalesce(pr.delta, 0)) OVER (
                   w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0) AS closing,
               coalesce(pr.delta, 0) AS delta,
               coalesce(lead(pr.day) OVER w, CAST(:date_to AS date) + 1) - pr.day AS days,
               CASE WHEN row_number() OVER w = 1
                    THEN pr.day - CAST(:date_from AS date) ELSE 0 END AS days_before
        FROM per pr
        JOIN lv ON lv.location_id = pr.location_id AND lv.sku = pr.sku
        WHERE pr.day IS NOT NULL
        WINDOW w AS (PARTITION BY pr.location_id, pr.sku ORDER BY pr.day)
    ),
    run_outs AS (
        SELECT location_id,
               sum(CASE WHEN closing <= 0 THEN days ELSE 0 END
                   + CASE WHEN closing - delta <= 0 THEN days_before ELSE 0 END) AS out_days
        FROM runs GROUP BY location_id
    )
    SELECT lv.location_id, lv.currency,
           sum(greatest(lv.opening, 0)) AS opening_units,
           sum(greatest(lv.closing, 0)) AS closing_units,
           sum(greatest(lv.opening, 0) * lv.cost) AS opening_cost,
           sum(greatest(lv.closing, 0) * lv.cost) AS closing_cost,
           sum(lv.received) AS received_units, sum(lv.sold) AS sold_units,
           sum(lv.shrink) AS shrink_units, sum(lv.shrink * lv.cost) AS shrink_cost,
           count(*) * CAST(:ndays AS integer) AS sku_days,
           count(*) FILTER (WHERE NOT lv.moved AND lv.closing <= 0) * CAST(:ndays AS integer)
               + coalesce(max(ro.out_days), 0) AS out_days
    FROM lv LEFT JOIN run_outs ro ON ro.location_id = lv.location_id
    GROUP BY lv.location_id, lv.currency ORDER BY lv.location_id
    """
    return _ints(read_frame(session, sql, params), *_STOCK_COLUMNS, "sku_days", "out_days")


def load_stock(session: Session, scope: Scope, both: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per store: sellable units and their cost at the start and the end of the range (on hand
    now less the movements since), units received, sold and lost (shrinkage) in the range, at
    units and at today's cost price."""
    if both is None:
        both = load_stock_and_stockouts(session, scope)
    return both[["location_id", "currency", *_STOCK_COLUMNS]].reset_index(drop=True)


def load_stockouts(
    session: Session, scope: Scope, both: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per store: SKU-days (every stocked SKU with a stock level, every business day of the
    range) and those that ended the day with nothing on hand. The on hand at each day's end is
    on hand now less every sellable movement after that end."""
    if both is None:
        both = load_stock_and_stockouts(session, scope)
    return both[["location_id", "sku_days", "out_days"]].reset_index(drop=True)


def load_pickups(session: Session, scope: Scope) -> pd.DataFrame:
    """Per store: click & collect orders made ready in the range (the hand-over task appears
    when the order is ready) with the seconds from order to ready, and those collected in the
    range with the seconds from ready to collected."""
    b, params = _b(scope)
    sql = f"""
    WITH {b}
    SELECT ft.location_id,
           count(*) FILTER (WHERE ft.created_at >= b.utc_from AND ft.created_at < b.utc_to
          AND ft.created_at >= :env_from AND ft.created_at < :env_to)
               AS ready_orders,
           sum(extract(epoch FROM ft.created_at - o.placed_at))
               FILTER (WHERE ft.created_at >= b.utc_from AND ft.created_at < b.utc_to
          AND ft.created_at >= :env_from AND ft.created_at < :env_to)
               AS ready_seconds,
           count(*) FILTER (WHERE ft.status = 'done'
               AND ft.done_at >= b.utc_from AND ft.done_at < b.utc_to
          AND ft.done_at >= :env_from AND ft.done_at < :env_to) AS collected_orders,
           sum(extract(epoch FROM ft.done_at - ft.created_at)) FILTER (WHERE ft.status = 'done'
               AND ft.done_at >= b.utc_from AND ft.done_at < b.utc_to
          AND ft.done_at >= :env_from AND ft.done_at < :env_to) AS collect_seconds
    FROM fulfilment_tasks ft
    JOIN b ON b.location_id = ft.location_id
          AND ((ft.created_at >= b.utc_from AND ft.created_at < b.utc_to
          AND ft.created_at >= :env_from AND ft.created_at < :env_to)
               OR (ft.done_at >= b.utc_from AND ft.done_at < b.utc_to
          AND ft.done_at >= :env_from AND ft.done_at < :env_to))
    JOIN orders o ON o.number = ft.order_number
    WHERE ft.kind = 'handover' AND ft.workflow_id LIKE 'bopis:%'
    GROUP BY ft.location_id ORDER BY ft.location_id
    """
    frame = read_frame(session, sql, params)
    return _floats(
        _ints(frame, "ready_orders", "collected_orders"), "ready_seconds", "collect_seconds"
    )


def load_returns(session: Session, scope: Scope) -> pd.DataFrame:
    """Per store, currency and channel of the original sale (receiptless: store): returns
    completed in the range, their refunded total, and the seconds from the return to its last
    refund (`timed` returns with a refund row)."""
    b, params = _b(scope)
    sql = f"""
    WITH {b}
    SELECT r.location_id, r.currency, coalesce(o.channel, 'store') AS channel,
           count(*) AS returns, sum(r.refund_total) AS returned,
           count(f.last) AS timed, sum(extract(epoch FROM f.last - r.created_at)) AS seconds
    FROM returns r
    JOIN b ON b.location_id = r.location_id
          AND r.created_at >= b.utc_from AND r.created_at < b.utc_to
          AND r.created_at >= :env_from AND r.created_at < :env_to
    LEFT JOIN orders o ON o.id = r.order_id
    -- a return's refunds are keyed return:<return id>:<payment>: one pass over them, hashed
    LEFT JOIN (
        SELECT split_part(idempotency_key, ':', 2) AS return_id, max(created_at) AS last
        FROM refunds WHERE idempotency_key LIKE 'return:%' AND status = 'succeeded'
        GROUP BY 1) f ON f.return_id = r.return_id
    WHERE r.status = 'completed'
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """
    return _floats(
        _ints(read_frame(session, sql, params), "returns", "returned", "timed"), "seconds"
    )


def load_sync(session: Session, scope: Scope) -> pd.DataFrame:
    """One row for every web store: webhook deliveries of the range and those never handed to a
    workflow (after the grace), and stock listings and those whose last push failed (now)."""
    if scope.stores.empty:
        return pd.DataFrame(
            {"deliveries": [0], "failed_deliveries": [0], "listings": [0], "failed_listings": [0]}
        )
    params = {"from": scope.stores["utc_from"].min(), "to": scope.stores["utc_to"].max()}
    sql = f"""
    SELECT
      (SELECT count(*) FROM webhook_inbox w WHERE w.provider <> 'stripe'
          AND w.received_at >= CAST(:from AS timestamptz)
          AND w.received_at < CAST(:to AS timestamptz)) AS deliveries,
      (SELECT count(*) FROM webhook_inbox w WHERE w.provider <> 'stripe'
          AND w.received_at >= CAST(:from AS timestamptz)
          AND w.received_at < CAST(:to AS timestamptz)
          AND w.status = 'received' AND w.received_at < now() - interval '{SYNC_GRACE}')
          AS failed_deliveries,
      (SELECT count(*) FROM web_store_listings) AS listings,
      (SELECT count(*) FROM web_store_listings WHERE last_error <> '') AS failed_listings
    """
    return _ints(
        read_frame(session, sql, params),
        "deliveries",
        "failed_deliveries",
        "listings",
        "failed_listings",
    )


def load_discrepancies(session: Session, scope: Scope) -> pd.DataFrame:
    """Every till card tender of the range without a settled provider record, and every till
    sale whose paid tenders differ from its total: one row each, with the ids to chase it."""
    b, params = _b(scope)
    params |= {"settled": list(CARD_SETTLED), "normal": list(CARD_NORMAL), "paid": list(PAID)}
    sql = f"""
    WITH {b}
    SELECT py.location_id, CAST(
               CASE WHEN py.status = ANY(CAST(:settled AS varchar[]))
                    THEN 'card_without_provider_id' ELSE 'card_not_settled' END AS varchar)
               AS kind,
           o.number AS order_number, py.id AS payment_id, py.workflow_id, py.amount,
           py.currency, py.status, py.provider_ref, coalesce(o.placed_at, py.created_at) AS at
    FROM payments py
    LEFT JOIN orders o ON o.workflow_id = py.workflow_id
    -- a tender belongs to the day of its sale (a late offline upload to its own day)
    JOIN b ON b.location_id = py.location_id
          AND coalesce(o.placed_at, py.created_at) >= b.utc_from
          AND coalesce(o.placed_at, py.created_at) < b.utc_to
    WHERE py.tender = 'card' AND py.till_id IS NOT NULL
      AND (py.status <> ALL(CAST(:normal AS varchar[]))
           OR (py.status = ANY(CAST(:settled AS varchar[])) AND py.provider_ref = ''))
    UNION ALL
    SELECT o.location_id, CAST('paid_differs_from_total' AS varchar), o.number,
           CAST(NULL AS bigint), o.workflow_id, o.total - p.paid, o.currency, o.status, '',
           o.placed_at
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(amount), 0) AS paid FROM payments
        WHERE workflow_id = o.workflow_id AND status = ANY(CAST(:paid AS varchar[]))) p
    WHERE o.channel = 'store' AND o.status = 'completed' AND p.paid <> o.total
    ORDER BY 1, 10, 2
    """
    frame = read_frame(session, sql, params)
    return _ints(frame, "amount")


def load_checkout(session: Session, scope: Scope) -> pd.DataFrame:
    """Per store and cashier: till sales that say when their basket started, and the seconds
    from that first scan to the sale."""
    b, params = _b(scope)
    where = ""
    if scope.till_ids:
        params["till_ids"] = list(scope.till_ids)
        where = " AND o.till_id = ANY(CAST(:till_ids AS integer[]))"
    sql = f"""
    WITH {b}
    SELECT o.location_id, o.cashier_id, coalesce(u.display_name, u.username, 'no cashier')
               AS cashier,
           count(*) AS sales, sum(extract(epoch FROM o.placed_at - o.basket_started_at))
               AS seconds
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    LEFT JOIN users u ON u.id = o.cashier_id
    WHERE o.channel = 'store' AND o.basket_started_at IS NOT NULL
      AND o.basket_started_at <= o.placed_at{where}
    GROUP BY 1, 2, 3 ORDER BY 1, 3
    """
    return _floats(_ints(read_frame(session, sql, params), "sales"), "seconds")


def load(session: Session, scope: Scope, ctx: object) -> dict[str, pd.DataFrame]:
    """The KPI report's frames, and `stores` (the scope, with the number of days)."""
    stores = scope.stores[["location_id", "code", "name", "currency"]].copy()
    stores["days"] = (scope.date_to - scope.date_from).days + 1
    tune(session)
    both = load_stock_and_stockouts(session, scope)
    return {
        "orders": load_orders(session, scope),
        "stock": load_stock(session, scope, both),
        "stockouts": load_stockouts(session, scope, both),
        "pickups": load_pickups(session, scope),
        "returns": load_returns(session, scope),
        "sync": load_sync(session, scope),
        "discrepancies": load_discrepancies(session, scope),
        "checkout": load_checkout(session, scope),
        "stores": stores,
    }
