"""stock closings: each location's sellable on hand per SKU at the end of each business day,
written when the day closes, so the KPI report need not read every stock movement since
(docs/finance-benchmark.md)

Revision ID: 0046_stock_closings
Revises: 0034_promotion_pins
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046_stock_closings"
down_revision = "0034_promotion_pins"
branch_labels = ("stock_closings",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_closings",
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("business_day", "location_id", "sku"),
    )
    op.create_table(
        "stock_closing_days",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("skus", sa.Integer(), nullable=False),
        sa.Column(
            "closed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("location_id", "business_day"),
    )


def downgrade() -> None:
    op.drop_table("stock_closing_days")
    op.drop_table("stock_closings")
