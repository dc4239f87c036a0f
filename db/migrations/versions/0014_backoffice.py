"""back office: product cost, description, lot tracking and version (ETag); web-store price
lists; location pickup / safety-stock default / active; till scanner; user permissions; stock in
transit and reorder points; the catalogue outbox

Revision ID: 0014_backoffice
Revises: 0009_price_history
Create Date: 2026-12-01 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_backoffice"
down_revision = "0009_price_history"
branch_labels = ("backoffice",)
depends_on = ("0003_webstore",)


def upgrade() -> None:
    add = op.add_column
    add("locations", sa.Column("pickup", sa.Boolean(), server_default="true", nullable=False))
    add(
        "locations",
        sa.Column("safety_stock_default", sa.Integer(), server_default="0", nullable=False),
    )
    add("locations", sa.Column("active", sa.Boolean(), server_default="true", nullable=False))
    op.create_check_constraint(
        "safety_stock_default_positive", "locations", "safety_stock_default >= 0"
    )
    add("tills", sa.Column("scanner", sa.String(500), server_default="", nullable=False))
    add(
        "users",
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    add("products", sa.Column("description", sa.Text(), server_default="", nullable=False))
    add("products", sa.Column("lot_tracked", sa.Boolean(), server_default="false", nullable=False))
    add("products", sa.Column("cost_price", sa.BigInteger(), nullable=True))
    add("products", sa.Column("cost_currency", sa.String(3), nullable=True))
    add("products", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    add(
        "products",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    add("prices", sa.Column("web_store_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_prices_web_store_id_web_stores"), "prices", "web_stores", ["web_store_id"], ["id"]
    )
    op.create_check_constraint("one_list", "prices", "location_id IS NULL OR web_store_id IS NULL")
    op.drop_index("uq_prices_variant_id_location_id_open", table_name="prices")
    op.create_index(
        "uq_prices_variant_id_location_id_open",
        "prices",
        ["variant_id", "location_id", "web_store_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
        postgresql_nulls_not_distinct=True,
    )
    add("stock_levels", sa.Column("in_transit", sa.Integer(), server_default="0", nullable=False))
    add("stock_levels", sa.Column("reorder_min", sa.Integer(), nullable=True))
    add("stock_levels", sa.Column("reorder_max", sa.Integer(), nullable=True))
    op.create_table(
        "catalog_changes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("product_code", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source", sa.String(80), server_default="tillflow", nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "action IN ('upsert', 'delete')", name=op.f("ck_catalog_changes_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_changes")),
    )
    op.create_index("ix_catalog_changes_product_code", "catalog_changes", ["product_code"])


def downgrade() -> None:
    op.drop_index("ix_catalog_changes_product_code", table_name="catalog_changes")
    op.drop_table("catalog_changes")
    for column in ("reorder_max", "reorder_min", "in_transit"):
        op.drop_column("stock_levels", column)
    op.drop_index("uq_prices_variant_id_location_id_open", table_name="prices")
    op.execute("DELETE FROM prices WHERE web_store_id IS NOT NULL")
    op.create_index(
        "uq_prices_variant_id_location_id_open",
        "prices",
        ["variant_id", "location_id"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_constraint(op.f("ck_prices_one_list"), "prices", type_="check")
    op.drop_constraint(op.f("fk_prices_web_store_id_web_stores"), "prices", type_="foreignkey")
    op.drop_column("prices", "web_store_id")
    for column in ("updated_at", "version", "cost_currency", "cost_price", "lot_tracked"):
        op.drop_column("products", column)
    op.drop_column("products", "description")
    op.drop_column("users", "permissions")
    op.drop_column("tills", "scanner")
    op.drop_constraint(
        op.f("ck_locations_safety_stock_default_positive"), "locations", type_="check"
    )
    for column in ("active", "safety_stock_default", "pickup"):
        op.drop_column("locations", column)
