"""catalogue sync: per-store outbox cursors, products in each web store, conflicts

Revision ID: 0016_catalog_sync
Revises: 0014_backoffice
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016_catalog_sync"
down_revision = "0014_backoffice"
branch_labels = ("catalog_sync",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_sync_cursors",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("last_change_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_resync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prices_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["web_stores.id"],
            name=op.f("fk_catalog_sync_cursors_store_id_web_stores"),
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_catalog_sync_cursors")),
    )
    op.create_table(
        "catalog_sync_products",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(100), server_default="", nullable=False),
        sa.Column("variant_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pushed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remote_version_us", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("excluded", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["web_stores.id"],
            name=op.f("fk_catalog_sync_products_store_id_web_stores"),
        ),
        sa.PrimaryKeyConstraint("store_id", "product_code", name=op.f("pk_catalog_sync_products")),
    )
    op.create_index(
        "ix_catalog_sync_products_external_id",
        "catalog_sync_products",
        ["store_id", "external_id"],
    )
    op.create_table(
        "catalog_conflicts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), server_default="", nullable=False),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("tillflow_value", sa.Text(), server_default="", nullable=False),
        sa.Column("webstore_value", sa.Text(), server_default="", nullable=False),
        sa.Column("currency", sa.String(3), server_default="", nullable=False),
        sa.Column("event_id", sa.String(200), server_default="", nullable=False),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("resolution", sa.String(16), server_default="", nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column(
            "detected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_catalog_conflicts_status")
        ),
        sa.CheckConstraint(
            "field IN ('title', 'description', 'price', 'barcode', 'deleted', 'product')",
            name=op.f("ck_catalog_conflicts_field"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["web_stores.id"], name=op.f("fk_catalog_conflicts_store_id_web_stores")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_catalog_conflicts_resolved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_conflicts")),
    )
    op.create_index(
        "uq_catalog_conflicts_open",
        "catalog_conflicts",
        ["store_id", "product_code", "sku", "field"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_catalog_conflicts_status", "catalog_conflicts", ["status"])


def downgrade() -> None:
    op.drop_index("ix_catalog_conflicts_status", table_name="catalog_conflicts")
    op.drop_index("uq_catalog_conflicts_open", table_name="catalog_conflicts")
    op.drop_table("catalog_conflicts")
    op.drop_index("ix_catalog_sync_products_external_id", table_name="catalog_sync_products")
    op.drop_table("catalog_sync_products")
    op.drop_table("catalog_sync_cursors")
