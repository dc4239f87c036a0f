"""fiscal records: each location's fiscal unit (its signing scheme and settings) and one row per
signed till document (issue 20)

Revision ID: 0040_fiscal_records
Revises: 0034_promotion_pins
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0040_fiscal_records"
down_revision = "0034_promotion_pins"
branch_labels = ("fiscal",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fiscal_units",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "scheme IN ('none', 'de-fiskaly', 'pt-at')", name=op.f("ck_fiscal_units_known_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_fiscal_units_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_fiscal_units")),
    )
    op.create_table(
        "fiscal_records",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("till_code", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("qr", sa.Text(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('signed', 'pending', 'not_required')",
            name=op.f("ck_fiscal_records_known_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('sale', 'return', 'void', 'closing')",
            name=op.f("ck_fiscal_records_known_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_fiscal_records_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fiscal_records")),
        sa.UniqueConstraint("document_id", "kind", name=op.f("uq_fiscal_records_document_id_kind")),
    )
    op.create_index(
        "ix_fiscal_records_location_occurred",
        "fiscal_records",
        ["location_id", "occurred_at"],
    )
    op.create_index(
        "ix_fiscal_records_pending",
        "fiscal_records",
        ["location_id", "occurred_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_fiscal_records_pending", table_name="fiscal_records")
    op.drop_index("ix_fiscal_records_location_occurred", table_name="fiscal_records")
    op.drop_table("fiscal_records")
    op.drop_table("fiscal_units")
