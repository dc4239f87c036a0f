"""purchasing and stock operations: suppliers and their items, purchase orders, goods receipts,
stock adjustments (quarantine release / write-off too) and resolved offline variances

Revision ID: 0018_purchasing
Revises: 0014_backoffice
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_purchasing"
down_revision = "0014_backoffice"
branch_labels = ("purchasing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), server_default="", nullable=False),
        sa.Column("phone", sa.String(length=32), server_default="", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), server_default="7", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_suppliers_lead_time_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("code", name=op.f("uq_suppliers_code")),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.String(length=16), server_default="manual", nullable=False),
        sa.Column("reorder_run", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('manual', 'reorder')", name=op.f("ck_purchase_orders_source")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'partially_received', 'received', 'closed_short', "
            "'cancelled')",
            name=op.f("ck_purchase_orders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_purchase_orders_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_purchase_orders_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_purchase_orders_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_purchase_orders_number")),
        sa.UniqueConstraint(
            "reorder_run",
            "supplier_id",
            "location_id",
            name=op.f("uq_purchase_orders_reorder_run_supplier_id_location_id"),
        ),
    )
    op.create_index(
        op.f("ix_purchase_orders_location_id"), "purchase_orders", ["location_id"], unique=False
    )
    op.create_index(
        op.f("ix_purchase_orders_supplier_id"), "purchase_orders", ["supplier_id"], unique=False
    )
    op.create_table(
        "stock_adjustments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("adjustment_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.String(length=500), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('adjustment', 'quarantine_release', 'write_off')",
            name=op.f("ck_stock_adjustments_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_approval', 'approved', 'applied', 'rejected')",
            name=op.f("ck_stock_adjustments_status"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_stock_adjustments_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_stock_adjustments_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_stock_adjustments_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_adjustments")),
        sa.UniqueConstraint("adjustment_id", name=op.f("uq_stock_adjustments_adjustment_id")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_stock_adjustments_workflow_id")),
    )
    op.create_index(
        op.f("ix_stock_adjustments_location_id"), "stock_adjustments", ["location_id"], unique=False
    )
    op.create_table(
        "goods_receipts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("po_id", sa.BigInteger(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("delivery_note", sa.String(length=200), server_default="", nullable=False),
        sa.Column("close_short", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("costs_applied", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("received_by", sa.Integer(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('recorded', 'completed', 'voided')", name=op.f("ck_goods_receipts_status")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_goods_receipts_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name=op.f("fk_goods_receipts_po_id_purchase_orders")
        ),
        sa.ForeignKeyConstraint(
            ["received_by"], ["users.id"], name=op.f("fk_goods_receipts_received_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_goods_receipts_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_receipts")),
        sa.UniqueConstraint("receipt_id", name=op.f("uq_goods_receipts_receipt_id")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_goods_receipts_workflow_id")),
    )
    op.create_index(
        op.f("ix_goods_receipts_location_id"), "goods_receipts", ["location_id"], unique=False
    )
    op.create_index(op.f("ix_goods_receipts_po_id"), "goods_receipts", ["po_id"], unique=False)
    op.create_table(
        "goods_receipt_lines",
        sa.Column("receipt_pk", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("po_line_no", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("over", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unit_cost", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("over >= 0", name=op.f("ck_goods_receipt_lines_over_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_goods_receipt_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["receipt_pk"],
            ["goods_receipts.id"],
            name=op.f("fk_goods_receipt_lines_receipt_pk_goods_receipts"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_goods_receipt_lines_sku_variants")
        ),
        sa.PrimaryKeyConstraint("receipt_pk", "line_no", name=op.f("pk_goods_receipt_lines")),
    )
    op.create_table(
        "purchase_order_lines",
        sa.Column("po_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity_ordered", sa.Integer(), nullable=False),
        sa.Column("quantity_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unit_cost", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity_ordered >= 0", name=op.f("ck_purchase_order_lines_ordered_positive")
        ),
        sa.CheckConstraint(
            "quantity_received >= 0", name=op.f("ck_purchase_order_lines_received_positive")
        ),
        sa.CheckConstraint(
            "unit_cost >= 0", name=op.f("ck_purchase_order_lines_unit_cost_positive")
        ),
        sa.ForeignKeyConstraint(
            ["po_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_po_id_purchase_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_purchase_order_lines_sku_variants")
        ),
        sa.PrimaryKeyConstraint("po_id", "line_no", name=op.f("pk_purchase_order_lines")),
        sa.UniqueConstraint("po_id", "sku", name=op.f("uq_purchase_order_lines_po_id_sku")),
    )
    op.create_table(
        "stock_adjustment_lines",
        sa.Column("adjustment_pk", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_stock_adjustment_lines_delta_nonzero")),
        sa.ForeignKeyConstraint(
            ["adjustment_pk"],
            ["stock_adjustments.id"],
            name=op.f("fk_stock_adjustment_lines_adjustment_pk_stock_adjustments"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_stock_adjustment_lines_sku_variants")
        ),
        sa.PrimaryKeyConstraint("adjustment_pk", "line_no", name=op.f("pk_stock_adjustment_lines")),
    )
    op.create_table(
        "supplier_items",
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("supplier_sku", sa.String(length=64), server_default="", nullable=False),
        sa.Column("unit_cost", sa.BigInteger(), nullable=False),
        sa.Column("pack_size", sa.Integer(), server_default="1", nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("preferred", sa.Boolean(), server_default="false", nullable=False),
        sa.CheckConstraint(
            "lead_time_days IS NULL OR lead_time_days >= 0",
            name=op.f("ck_supplier_items_lead_time"),
        ),
        sa.CheckConstraint("pack_size >= 1", name=op.f("ck_supplier_items_pack_size_positive")),
        sa.CheckConstraint("unit_cost >= 0", name=op.f("ck_supplier_items_unit_cost_positive")),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_supplier_items_sku_variants")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_items_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("supplier_id", "sku", name=op.f("pk_supplier_items")),
    )
    op.create_index("ix_supplier_items_sku", "supplier_items", ["sku"], unique=False)
    op.create_index(
        "uq_supplier_items_preferred",
        "supplier_items",
        ["sku"],
        unique=True,
        postgresql_where=sa.text("preferred"),
    )
    op.create_table(
        "variance_resolutions",
        sa.Column("variance_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resolution", sa.String(length=8), nullable=False),
        sa.Column("count_id", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column(
            "resolved_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "resolution <> 'count' OR count_id IS NOT NULL",
            name=op.f("ck_variance_resolutions_count_named"),
        ),
        sa.CheckConstraint(
            "resolution IN ('loss', 'count')", name=op.f("ck_variance_resolutions_resolution")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_variance_resolutions_resolved_by_users")
        ),
        sa.PrimaryKeyConstraint("variance_id", name=op.f("pk_variance_resolutions")),
    )


def downgrade() -> None:
    op.drop_table("variance_resolutions")
    op.drop_index(
        "uq_supplier_items_preferred",
        table_name="supplier_items",
        postgresql_where=sa.text("preferred"),
    )
    op.drop_index("ix_supplier_items_sku", table_name="supplier_items")
    op.drop_table("supplier_items")
    op.drop_table("stock_adjustment_lines")
    op.drop_table("purchase_order_lines")
    op.drop_table("goods_receipt_lines")
    op.drop_index(op.f("ix_goods_receipts_po_id"), table_name="goods_receipts")
    op.drop_index(op.f("ix_goods_receipts_location_id"), table_name="goods_receipts")
    op.drop_table("goods_receipts")
    op.drop_index(op.f("ix_stock_adjustments_location_id"), table_name="stock_adjustments")
    op.drop_table("stock_adjustments")
    op.drop_index(op.f("ix_purchase_orders_supplier_id"), table_name="purchase_orders")
    op.drop_index(op.f("ix_purchase_orders_location_id"), table_name="purchase_orders")
    op.drop_table("purchase_orders")
    op.drop_table("suppliers")
