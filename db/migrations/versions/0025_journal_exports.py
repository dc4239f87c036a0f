"""accounting: the exported journal entries of each store-day (and their adjustments)

Revision ID: 0025_journal_exports
Revises: 0022_sale_shifts
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025_journal_exports"
down_revision = "0022_sale_shifts"
branch_labels = ("journal_exports",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_exports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("export_date", sa.Date(), nullable=False),
        sa.Column("covers_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("kind IN ('day', 'adjustment')", name=op.f("ck_journal_exports_kind")),
        sa.CheckConstraint(
            "(kind = 'day') = (export_date = covers_date)",
            name=op.f("ck_journal_exports_day_covers_itself"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_journal_exports_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_exports")),
        sa.UniqueConstraint("reference", name=op.f("uq_journal_exports_reference")),
        sa.UniqueConstraint(
            "location_id",
            "export_date",
            "covers_date",
            name=op.f("uq_journal_exports_location_id_export_date_covers_date"),
        ),
    )
    op.create_index(
        "ix_journal_exports_location_id_covers_date",
        "journal_exports",
        ["location_id", "covers_date"],
    )


def downgrade() -> None:
    op.drop_index("ix_journal_exports_location_id_covers_date", table_name="journal_exports")
    op.drop_table("journal_exports")
