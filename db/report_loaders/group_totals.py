"""The group totals report's frames (issue 19): net sales per store, business day and currency,
and the stored daily rates of those days (db/models_fx.py)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from db.report_loaders.sales import NOT_SOLD, _filters
from db.report_loaders.scope import Scope, read_frame
from domain.report_context import ReportContext

Frames = dict[str, pd.DataFrame]


def load(session: Session, scope: Scope, ctx: ReportContext) -> Frames:
    """`sales` (location_id, day, currency, sales, total), `rates` (day, currency, base, rate)."""
    bounds, params = scope.bounds()
    params |= {"not_sold": list(NOT_SOLD)}
    where = _filters(scope, "o", params)
    sql = f"""
    WITH b(location_id, utc_from, utc_to) AS ({bounds})
    SELECT o.location_id, CAST(timezone(l.timezone, o.placed_at) AS date) AS day, o.currency,
           count(*) AS sales, sum(o.total) AS total
    FROM orders o
    JOIN b ON b.location_id = o.location_id
          AND o.placed_at >= b.utc_from AND o.placed_at < b.utc_to
          AND o.placed_at >= :env_from AND o.placed_at < :env_to
    JOIN locations l ON l.id = o.location_id
    WHERE o.status <> ALL(CAST(:not_sold AS varchar[])){where}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    """
    sales = read_frame(session, sql, params)
    for col in ("sales", "total"):
        sales[col] = sales[col].astype("int64")
    rates = read_frame(
        session,
        "SELECT day, currency, base, CAST(rate AS text) AS rate FROM fx_rates "
        "WHERE day BETWEEN :d_from AND :d_to ORDER BY day, currency, base",
        {"d_from": scope.date_from, "d_to": scope.date_to},
    )
    return {"sales": sales, "rates": rates, "stores": scope.stores}
