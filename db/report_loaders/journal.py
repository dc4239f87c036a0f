"""The accounting export's loader: each store-day's figures (one query, aggregated in
PostgreSQL into long rows of location, business day, item, amount; see domain/accounts.py ITEMS),
the entries already exported (journal_exports), and the late arrivals behind adjustments (orders
recorded after their day was exported). Also the one writer of journal_exports, for
AccountingActivities.export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_accounting import JournalExport
from db.report_loaders.scope import Scope, read_frame, tune
from domain.accounts import JournalEntry
from domain.pricing import GIFT_CARD_SKU

# Orders that never became a sale; their payments were voided or refunded with them.
EXCLUDED_ORDER_STATES = ("cancelled", "canceled", "rejected", "expired", "failed")
SETTLED_PAYMENTS = ("captured", "completed", "refunded")  # money taken (refunds post apart)
TENDERS = ("cash", "card", "gift_card", "store_credit")
RESTOCKED = ("restock", "quarantine")  # returned units back in inventory (damaged: written off)

FIGURES_COLUMNS = ["location_id", "business_date", "item", "amount"]

# One statement for every figure: each part aggregates its table by store and local business
# day, filtered on its indexed timestamp by the scope's UTC bounds.
_FIGURES = """
WITH b(location_id, utc_from, utc_to) AS ({bounds}),
sale_orders AS (
    SELECT o.id, o.workflow_id, o.location_id, o.total,
           (o.placed_at AT TIME ZONE l.timezone)::date AS business_date
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    JOIN locations l ON l.id = o.location_id
    WHERE o.status <> ALL(CAST(:excluded AS varchar[]))
),
done_returns AS (
    SELECT r.id, r.return_id, r.order_id, r.location_id,
           (r.created_at AT TIME ZONE l.timezone)::date AS business_date
    FROM returns r
    JOIN b ON b.location_id = r.location_id
          AND r.created_at >= b.utc_from AND r.created_at < b.utc_to
          AND r.created_at >= :env_from AND r.created_at < :env_to
    JOIN locations l ON l.id = r.location_id
    WHERE r.status = 'completed'
),
closed_shifts AS (
    SELECT sh.id, sh.location_id, sh.variance,
           (sh.closed_at AT TIME ZONE l.timezone)::date AS business_date
    FROM shifts sh
    JOIN b ON b.location_id = sh.location_id
          AND sh.closed_at >= b.utc_from AND sh.closed_at < b.utc_to
          AND sh.closed_at >= :env_from AND sh.closed_at < :env_to
    JOIN locations l ON l.id = sh.location_id
    WHERE sh.status = 'closed'
),
figures(location_id, business_date, item, amount) AS (
    -- the lines summed per store-day, tax rate and gift card or not first, then one figure each
    SELECT a.location_id, a.business_date, x.item, sum(x.amount)
    FROM (
        SELECT so.location_id, so.business_date, ol.tax_rate_bp, ol.sku = :gift AS gift,
               sum(ol.gross) AS gross, sum(ol.net) AS net, sum(ol.tax) AS tax,
               sum(ol.discount) AS discount,
               sum(ol.quantity * coalesce(p.cost_price, 0)) AS cogs,
               coalesce(sum(ol.quantity) FILTER (WHERE p.cost_price IS NULL), 0) AS uncosted
        FROM sale_orders so
        JOIN order_lines ol ON ol.order_id = so.id
        LEFT JOIN variants v ON v.sku = ol.sku
        LEFT JOIN products p ON p.id = v.product_id
        GROUP BY 1, 2, 3, 4
    ) a
    CROSS JOIN LATERAL (VALUES
        (CASE WHEN a.gift THEN 'gift_cards_sold' ELSE 'sales_net:' || a.tax_rate_bp END,
         CASE WHEN a.gift THEN a.gross ELSE a.net END),
        ('sales_tax:' || a.tax_rate_bp, CASE WHEN a.gift THEN 0 ELSE a.tax END),
        ('sales_discount:' || a.tax_rate_bp, CASE WHEN a.gift THEN 0 ELSE a.discount END),
        ('cogs', CASE WHEN a.gift THEN 0 ELSE a.cogs END),
        ('missing_cost', CASE WHEN a.gift THEN 0 ELSE a.uncosted END)
    ) AS x(item, amount)
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT location_id, business_date, 'order_total', sum(total)
    FROM sale_orders GROUP BY 1, 2
    UNION ALL
    SELECT so.location_id, so.business_date,
           'tender:' || CASE WHEN pay.tender = ANY(CAST(:tenders AS varchar[]))
                        THEN pay.tender ELSE 'other' END,
           sum(pay.amount)
    FROM sale_orders so
    JOIN payments pay ON pay.workflow_id = so.workflow_id
                     AND pay.status = ANY(CAST(:settled AS varchar[]))
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT dr.location_id, dr.business_date, x.item, sum(x.amount)
    FROM done_returns dr
    JOIN return_lines rl ON rl.return_pk = dr.id
    LEFT JOIN order_lines ol ON ol.order_id = dr.order_id AND ol.line_no = rl.order_line_no
    LEFT JOIN variants v ON v.sku = rl.sku
    LEFT JOIN products p ON p.id = v.product_id
    CROSS JOIN LATERAL (VALUES
        ('returns_gross:' || coalesce(ol.tax_rate_bp, 0), rl.refund_amount),
        ('cogs_returned', CASE WHEN rl.disposition = ANY(CAST(:restocked AS varchar[]))
                          THEN rl.quantity * coalesce(p.cost_price, 0) ELSE 0 END)
    ) AS x(item, amount)
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT dr.location_id, dr.business_date,
           'refund:' || CASE WHEN pay.tender = ANY(CAST(:tenders AS varchar[]))
                        THEN pay.tender ELSE 'other' END,
           sum(rf.amount)
    FROM done_returns dr
    JOIN orders o ON o.id = dr.order_id
    JOIN payments pay ON pay.workflow_id = o.workflow_id
    JOIN refunds rf ON rf.payment_id = pay.id AND rf.status = 'succeeded'
                   AND starts_with(rf.idempotency_key, 'return:' || dr.return_id || '\\:')
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT dr.location_id, dr.business_date, 'refund:store_credit', sum(e.delta)
    FROM done_returns dr
    JOIN store_credit_ledger e ON e.idempotency_key = 'return:' || dr.return_id || '\\:credit'
    GROUP BY 1, 2
    UNION ALL
    SELECT location_id, business_date, 'cash_variance', sum(coalesce(variance, 0))
    FROM closed_shifts GROUP BY 1, 2
    UNION ALL
    SELECT sh.location_id, (ev.created_at AT TIME ZONE l.timezone)::date, ev.kind, sum(ev.amount)
    FROM shift_events ev
    JOIN shifts sh ON sh.id = ev.shift_id
    JOIN b ON b.location_id = sh.location_id
          AND ev.created_at >= b.utc_from AND ev.created_at < b.utc_to
          AND ev.created_at >= :env_from AND ev.created_at < :env_to
    JOIN locations l ON l.id = sh.location_id
    WHERE ev.kind IN ('paid_in', 'paid_out')
    GROUP BY 1, 2, 3{stripe}
)
SELECT location_id, business_date, item, sum(amount)::bigint AS amount
FROM figures
GROUP BY 1, 2, 3
HAVING sum(amount) <> 0
ORDER BY 1, 2, 3
"""


# Stripe's fees (on the day of the charge) and payouts (the net of each of the store's balance
# transactions, on the day the payout arrived), when the reconciliation's copy of Stripe's balance
# transactions (migration 0024) is there. A transaction is the store's through the card payment
# (its PaymentIntent) or the refund (its re_ id) tillflow recorded.
_STRIPE = """
    UNION ALL
    SELECT t.location_id, (t.at AT TIME ZONE l.timezone)::date, t.item, sum(t.amount)
    FROM (
        SELECT COALESCE(pi.location_id, pr.location_id) AS location_id, x.created_at AS at,
               'merchant_fees' AS item, x.fee AS amount
        FROM stripe_balance_txns x
        LEFT JOIN payments pi ON x.payment_intent <> '' AND pi.tender = 'card'
                             AND pi.provider_ref <> '' AND pi.provider_ref = x.payment_intent
        LEFT JOIN refunds rf ON x.source_id <> '' AND rf.provider_ref = x.source_id
        LEFT JOIN payments pr ON pr.id = rf.payment_id
        WHERE x.type <> 'payout' AND x.created_at >= :s_from AND x.created_at < :s_to
        UNION ALL
        SELECT COALESCE(pi.location_id, pr.location_id), x.payout_arrival, 'payouts', x.net
        FROM stripe_balance_txns x
        LEFT JOIN payments pi ON x.payment_intent <> '' AND pi.tender = 'card'
                             AND pi.provider_ref <> '' AND pi.provider_ref = x.payment_intent
        LEFT JOIN refunds rf ON x.source_id <> '' AND rf.provider_ref = x.source_id
        LEFT JOIN payments pr ON pr.id = rf.payment_id
        WHERE x.type <> 'payout' AND x.payout_status = 'paid'
          AND x.payout_arrival >= :s_from AND x.payout_arrival < :s_to
    ) t
    JOIN b ON b.location_id = t.location_id AND t.at >= b.utc_from AND t.at < b.utc_to
          AND t.at >= :env_from AND t.at < :env_to
    JOIN locations l ON l.id = t.location_id
    GROUP BY 1, 2, 3"""


def has_stripe(session: Session) -> bool:
    """Whether Stripe's balance transactions are copied here (migration 0024)."""
    return bool(session.scalar(text("SELECT to_regclass('stripe_balance_txns') IS NOT NULL")))


def figures(session: Session, scope: Scope) -> pd.DataFrame:
    """Every store-day's figures in the scope: location_id, business_date, item, amount."""
    bounds, params = scope.bounds()
    stripe = has_stripe(session) and not scope.stores.empty
    if stripe:
        params |= {
            "s_from": pd.Timestamp(scope.stores["utc_from"].min()).to_pydatetime(),
            "s_to": pd.Timestamp(scope.stores["utc_to"].max()).to_pydatetime(),
        }
    frame = read_frame(
        session,
        _FIGURES.format(bounds=bounds, stripe=_STRIPE if stripe else ""),
        params
        | {
            "excluded": list(EXCLUDED_ORDER_STATES),
            "settled": list(SETTLED_PAYMENTS),
            "tenders": list(TENDERS),
            "restocked": list(RESTOCKED),
            "gift": GIFT_CARD_SKU,
        },
    )
    return frame if not frame.empty else pd.DataFrame(columns=FIGURES_COLUMNS)


EXPORT_COLUMNS = [
    "location_id",
    "export_date",
    "covers_date",
    "kind",
    "reference",
    "currency",
    "lines",
    "total",
    "content_hash",
    "workflow_id",
    "created_at",
]


def exported(
    session: Session, location_ids: Iterable[int], date_from: date, date_to: date
) -> pd.DataFrame:
    """The stored entries of the stores posted on, or covering, a day of [date_from, date_to]."""
    ids = [int(i) for i in location_ids]
    if not ids:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    frame = read_frame(
        session,
        f"""
        SELECT {", ".join(EXPORT_COLUMNS)} FROM journal_exports
        WHERE location_id = ANY(:ids)
          AND ((export_date BETWEEN :f AND :t) OR (covers_date BETWEEN :f AND :t))
        ORDER BY location_id, export_date, covers_date
        """,
        {"ids": ids, "f": date_from, "t": date_to},
    )
    return frame if not frame.empty else pd.DataFrame(columns=EXPORT_COLUMNS)


LATE_COLUMNS = ["location_id", "covers_date", "number", "workflow_id", "total", "placed_at"]


def late_orders(session: Session, scope: Scope) -> pd.DataFrame:
    """Sales recorded after their business day was exported (a late offline upload): what an
    adjusting entry is made of, with the ids to chase them."""
    bounds, params = scope.bounds()
    frame = read_frame(
        session,
        f"""
        WITH b(location_id, utc_from, utc_to) AS ({bounds})
        SELECT o.location_id, je.covers_date, o.number, o.workflow_id, o.total, o.placed_at,
               o.created_at
        FROM orders o
        JOIN b ON b.location_id = o.location_id
              AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
        JOIN locations l ON l.id = o.location_id
        JOIN journal_exports je ON je.location_id = o.location_id AND je.kind = 'day'
              AND je.covers_date = (o.placed_at AT TIME ZONE l.timezone)::date
        WHERE o.created_at > je.created_at
          AND o.status <> ALL(CAST(:excluded AS varchar[]))
        ORDER BY o.location_id, o.placed_at
        """,
        params | {"excluded": list(EXCLUDED_ORDER_STATES)},
    )
    if frame.empty:
        return pd.DataFrame(columns=[*LATE_COLUMNS, "created_at"])
    return frame


def load(session: Session, scope: Scope, ctx: Any) -> dict[str, pd.DataFrame]:
    """The journal report's frames: stores, figures, exported entries and late arrivals."""
    tune(session, lookups=True)
    return {
        "stores": scope.stores,
        "figures": figures(session, scope),
        "exported": exported(session, scope.location_ids, scope.date_from, scope.date_to),
        "late": late_orders(session, scope),
        "meta": pd.DataFrame([{"stripe": has_stripe(session)}]),
    }


# ---- the writer (AccountingActivities.export only) ----------------------------------------


def lock_store(session: Session, location_id: int) -> None:
    """Serialise exports of one store (released at commit): two runs never interleave."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('journal_exports'), :id)"),
        {"id": location_id},
    )


def save(
    session: Session, location_id: int, entries: Iterable[JournalEntry], workflow_id: str
) -> int:
    """Insert each entry once (its store-day and covered day are unique); how many were new."""
    n = 0
    for e in entries:
        row: Mapping[str, Any] = {
            "location_id": location_id,
            "export_date": date.fromisoformat(e.date),
            "covers_date": date.fromisoformat(e.covers),
            "kind": e.kind,
            "reference": e.ref,
            "currency": e.currency,
            "lines": [ln.as_dict() for ln in e.lines],
            "total": e.total,
            "content_hash": e.content_hash(),
            "workflow_id": workflow_id,
        }
        result = session.execute(
            insert(JournalExport).values(**row).on_conflict_do_nothing().returning(JournalExport.id)
        )
        n += result.first() is not None
    session.flush()
    return n
