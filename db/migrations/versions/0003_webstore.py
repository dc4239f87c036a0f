"""web stores: connections, location mapping, listings, carts, order exceptions, stock-sync queue;
location coordinates for routing

Revision ID: 0003_webstore
Revises: 0001
Create Date: 2026-11-22 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_webstore"
down_revision = "0001"
branch_labels = ("webstore",)
depends_on = None


def _created(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column("locations", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("locations", sa.Column("longitude", sa.Float(), nullable=True))
    op.add_column("locations", sa.Column("country", sa.String(length=2), nullable=True))
    op.create_table(
        "web_stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("api_base_url", sa.String(length=500), nullable=False),
        sa.Column("webhook_secret", sa.String(length=300), nullable=False),
        sa.Column("access_token", sa.String(length=300), nullable=False),
        sa.Column("consumer_key", sa.String(length=300), nullable=False),
        sa.Column("consumer_secret", sa.String(length=300), nullable=False),
        sa.Column("storefront_key_hash", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pricing_location_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _created("created_at"),
        sa.CheckConstraint(
            "platform IN ('shopify', 'woocommerce', 'web')", name=op.f("ck_web_stores_platform")
        ),
        sa.ForeignKeyConstraint(
            ["pricing_location_id"],
            ["locations.id"],
            name=op.f("fk_web_stores_pricing_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_stores")),
        sa.UniqueConstraint("code", name=op.f("uq_web_stores_code")),
        sa.UniqueConstraint("storefront_key_hash", name=op.f("uq_web_stores_storefront_key_hash")),
    )
    op.create_table(
        "web_store_locations",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_web_store_locations_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["web_stores.id"], name=op.f("fk_web_store_locations_store_id_web_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "location_id", name=op.f("pk_web_store_locations")),
    )
    op.create_table(
        "web_store_listings",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("inventory_item_id", sa.String(length=64), nullable=False),
        sa.Column("pushed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_web_store_listings_sku_variants")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["web_stores.id"], name=op.f("fk_web_store_listings_store_id_web_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "sku", name=op.f("pk_web_store_listings")),
    )
    op.create_table(
        "carts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pickup_location_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _created("created_at"),
        sa.CheckConstraint(
            "status IN ('open', 'checked_out', 'expired')", name=op.f("ck_carts_status")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_location_id"],
            ["locations.id"],
            name=op.f("fk_carts_pickup_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["web_stores.id"], name=op.f("fk_carts_store_id_web_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
    )
    op.create_index(op.f("ix_carts_store_id"), "carts", ["store_id"], unique=False)
    op.create_table(
        "order_exceptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("store_code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _created("created_at"),
        _created("updated_at"),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_order_exceptions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_exceptions")),
        sa.UniqueConstraint(
            "workflow_id", "kind", "sku", name=op.f("uq_order_exceptions_workflow_id_kind_sku")
        ),
    )
    op.create_index("ix_order_exceptions_status", "order_exceptions", ["status"], unique=False)
    op.create_table(
        "stock_sync_queue",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        _created("first_changed_at"),
        _created("changed_at"),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_stock_sync_queue")),
    )
    # Every change of on_hand, reserved or safety stock queues its SKU for the web stores, whichever
    # module made it (sales, reservations, returns, replays, adjustments): one place, none
    # forgotten.
    op.execute(
        """
        CREATE FUNCTION tillflow_stock_changed() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND OLD.on_hand = NEW.on_hand AND OLD.reserved = NEW.reserved
               AND OLD.safety_stock = NEW.safety_stock THEN
                RETURN NULL;
            END IF;
            INSERT INTO stock_sync_queue (sku, version, first_changed_at, changed_at)
            VALUES (NEW.sku, 1, clock_timestamp(), clock_timestamp())
            ON CONFLICT (sku) DO UPDATE
                SET version = stock_sync_queue.version + 1, changed_at = clock_timestamp();
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER stock_levels_sync AFTER INSERT OR UPDATE ON stock_levels "
        "FOR EACH ROW EXECUTE FUNCTION tillflow_stock_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS stock_levels_sync ON stock_levels")
    op.execute("DROP FUNCTION IF EXISTS tillflow_stock_changed()")
    op.drop_table("stock_sync_queue")
    op.drop_index("ix_order_exceptions_status", table_name="order_exceptions")
    op.drop_table("order_exceptions")
    op.drop_index(op.f("ix_carts_store_id"), table_name="carts")
    op.drop_table("carts")
    op.drop_table("web_store_listings")
    op.drop_table("web_store_locations")
    op.drop_table("web_stores")
    op.drop_column("locations", "country")
    op.drop_column("locations", "longitude")
    op.drop_column("locations", "latitude")
