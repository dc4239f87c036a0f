"""An upgraded database: the audit rows written before migration 0020 are chained by it, in id
order, to their locations' chains, and verify; downgrading keeps the rows."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import create_engine, text

from db import migrate
from db.repositories import audit_trail, bookkeeping
from db.session import Database, sqlalchemy_url


def test_rows_from_before_the_chain_are_chained_by_the_migration(scratch_database: Any) -> None:
    url = scratch_database(f"tillflow_audit_{uuid.uuid4().hex[:8]}")
    migrate.upgrade(url)
    migrate.downgrade(url, "0020_audit_chain-1")
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO locations (code, name, kind, timezone, address, currency, "
                "prices_include_tax, ship_from_store) VALUES "
                "('OLD', 'Old store', 'store', 'UTC', '', 'EUR', true, false)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tills (code, location_id, name, printer_url, card_reader, active) "
                "SELECT 'OLD1', id, 'Till 1', '', 'simulated', true "
                "FROM locations WHERE code = 'OLD'"
            )
        )
        for subject, detail in [
            ("user:ada", '{"by": "tillflow admin create"}'),
            ("staff:1001", '{"till": "OLD1", "reason": "wrong_pin"}'),
            ("location:OLD", '{"z": [1, 2.50, {"b": null, "a": "é"}]}'),
            ("till:OLD1", "{}"),
            ("webstore:shop", '{"platform": "shopify"}'),
        ]:
            conn.execute(
                text(
                    "INSERT INTO audit_log (action, subject, detail) "
                    "VALUES ('legacy', :s, CAST(:d AS jsonb))"
                ),
                {"s": subject, "d": detail},
            )
    engine.dispose()
    migrate.upgrade(url)
    db = Database(url)
    try:
        with db.unit_of_work() as s:
            bookkeeping.audit(s, action="after", subject="till:OLD1")  # goes on from the backfill
            chains: dict[str, int] = dict(
                s.execute(text("SELECT chain, count(*) FROM audit_log GROUP BY chain")).all()
            )
        assert chains == {"central": 2, "OLD": 4}
        with audit_trail.snapshot(db) as s:
            reports = {r.chain: r for r in audit_trail.verify(s)}
        assert all(r.ok for r in reports.values()) and reports["OLD"].rows_checked == 4
    finally:
        db.dispose()
    migrate.downgrade(url, "0020_audit_chain-1")
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 6
    engine.dispose()
