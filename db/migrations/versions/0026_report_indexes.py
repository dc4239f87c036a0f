"""report indexes: the finance reports read orders, payments, refunds, returns and the stock
ledger by store and time window; without these every report (and every day of the daily pack)
scans the whole table (measured by bench/reports.py, docs/finance-benchmark.md)

Revision ID: 0026_report_indexes
Revises: 0022_sale_shifts
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0026_report_indexes"
down_revision = "0022_sale_shifts"
branch_labels = ("report_indexes",)
depends_on = None

# (name, table, columns): see db/models_report_indexes.py
INDEXES = (
    ("ix_orders_location_id_placed_at", "orders", ["location_id", "placed_at"]),
    ("ix_payments_created_at", "payments", ["created_at"]),
    ("ix_refunds_created_at", "refunds", ["created_at"]),
    ("ix_returns_location_id_created_at", "returns", ["location_id", "created_at"]),
    (
        "ix_stock_movements_location_id_occurred_at",
        "stock_movements",
        ["location_id", "occurred_at"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
