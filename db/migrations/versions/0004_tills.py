"""offline tills: card limits per store, uploaded journal entries, stock variances, collection tasks

Revision ID: 0004_tills
Revises: 0001
Create Date: 2026-11-22 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_tills"
down_revision = "0001"
branch_labels = ("tills",)
depends_on = None


def _created(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "offline_card_policies",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("per_sale_cap", sa.BigInteger(), nullable=False),
        sa.Column("total_cap", sa.BigInteger(), nullable=False),
        sa.Column("max_age_hours", sa.Integer(), nullable=False),
        _created("updated_at"),
        sa.CheckConstraint(
            "per_sale_cap >= 0 AND total_cap >= 0",
            name=op.f("ck_offline_card_policies_caps_positive"),
        ),
        sa.CheckConstraint(
            "max_age_hours > 0 AND max_age_hours <= 24",
            name=op.f("ck_offline_card_policies_max_age_range"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_offline_card_policies_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_offline_card_policies")),
    )
    op.create_table(
        "offline_journal_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("till_id", sa.Integer(), nullable=False),
        sa.Column("client_sale_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("cashier_id", sa.Integer(), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _created("received_at"),
        _created("updated_at"),
        sa.CheckConstraint(
            "status IN ('received', 'applied', 'flagged')",
            name=op.f("ck_offline_journal_entries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["cashier_id"], ["users.id"], name=op.f("fk_offline_journal_entries_cashier_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["till_id"], ["tills.id"], name=op.f("fk_offline_journal_entries_till_id_tills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_journal_entries")),
        sa.UniqueConstraint(
            "till_id",
            "client_sale_id",
            name=op.f("uq_offline_journal_entries_till_id_client_sale_id"),
        ),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_offline_journal_entries_workflow_id")),
    )
    op.create_index("ix_offline_journal_entries_status", "offline_journal_entries", ["status"])
    op.create_table(
        "stock_variances",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("till_id", sa.Integer(), nullable=True),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity_sold", sa.Integer(), nullable=False),
        sa.Column("on_hand_before", sa.Integer(), nullable=False),
        sa.Column("quantity_short", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        _created("created_at"),
        sa.CheckConstraint("quantity_short > 0", name=op.f("ck_stock_variances_short_positive")),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_stock_variances_status")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_stock_variances_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["variants.sku"], name=op.f("fk_stock_variances_sku_variants")
        ),
        sa.ForeignKeyConstraint(
            ["till_id"], ["tills.id"], name=op.f("fk_stock_variances_till_id_tills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_variances")),
        sa.UniqueConstraint(
            "workflow_id", "line_no", name=op.f("uq_stock_variances_workflow_id_line_no")
        ),
    )
    op.create_index(
        "ix_stock_variances_location_id_status", "stock_variances", ["location_id", "status"]
    )
    op.create_table(
        "collection_tasks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("till_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("client_sale_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_brand", sa.String(length=16), nullable=False),
        sa.Column("card_last4", sa.String(length=4), nullable=False),
        sa.Column("card_reference", sa.String(length=200), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("receipt", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _created("created_at"),
        sa.CheckConstraint("amount > 0", name=op.f("ck_collection_tasks_amount_positive")),
        sa.CheckConstraint(
            "status IN ('open', 'collected', 'written_off')",
            name=op.f("ck_collection_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_collection_tasks_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["till_id"], ["tills.id"], name=op.f("fk_collection_tasks_till_id_tills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_tasks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_collection_tasks_idempotency_key")),
    )
    op.create_index(
        "ix_collection_tasks_location_id_status", "collection_tasks", ["location_id", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_collection_tasks_location_id_status", table_name="collection_tasks")
    op.drop_table("collection_tasks")
    op.drop_index("ix_stock_variances_location_id_status", table_name="stock_variances")
    op.drop_table("stock_variances")
    op.drop_index("ix_offline_journal_entries_status", table_name="offline_journal_entries")
    op.drop_table("offline_journal_entries")
    op.drop_table("offline_card_policies")
