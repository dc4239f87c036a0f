"""reports: the daily schedule's stored packs, and when a till basket started (checkout time)

Revision ID: 0023_report_packs
Revises: 0022_sale_shifts
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_report_packs"
down_revision = "0022_sale_shifts"
branch_labels = ("report_packs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_packs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("report", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_packs")),
        sa.UniqueConstraint(
            "business_date",
            "report",
            "format",
            name=op.f("uq_report_packs_business_date_report_format"),
        ),
    )
    op.create_index(op.f("ix_report_packs_business_date"), "report_packs", ["business_date"])
    op.add_column(
        "orders", sa.Column("basket_started_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("orders", "basket_started_at")
    op.drop_index(op.f("ix_report_packs_business_date"), table_name="report_packs")
    op.drop_table("report_packs")
