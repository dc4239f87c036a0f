"""The wallet split of the sales report's card tenders (issue 19): card payments of the range's
sales by store, currency and wallet (apple_pay, google_pay …; "" for a plain card), counted as
the tender mix counts them (db/report_loaders/sales.py `load_tenders`)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from db.report_loaders.sales import NOT_SOLD, PAID, _filters
from db.report_loaders.scope import Scope, read_frame


def load_wallets(session: Session, scope: Scope) -> pd.DataFrame:
    """Card payments of the range's sales (location_id, currency, wallet, payments, amount)."""
    bounds, params = scope.bounds()
    params |= {"not_sold": list(NOT_SOLD), "paid": list(PAID)}
    where = _filters(scope, "o", params)
    sql = f"""
    WITH b(location_id, utc_from, utc_to) AS ({bounds})
    SELECT o.location_id, py.currency, py.card_wallet AS wallet, count(*) AS payments,
           sum(py.amount) AS amount
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    JOIN payments py ON py.workflow_id = o.workflow_id
    WHERE o.status <> ALL(CAST(:not_sold AS varchar[]))
      AND py.tender = 'card'
      AND py.status = ANY(CAST(:paid AS varchar[])){where}
    GROUP BY o.location_id, py.currency, py.card_wallet
    ORDER BY o.location_id, py.currency, py.card_wallet
    """
    frame = read_frame(session, sql, params)
    for col in ("payments", "amount"):
        frame[col] = frame[col].astype("int64")
    return frame
