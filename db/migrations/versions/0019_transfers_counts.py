"""transfers between locations (with their deliveries) and cycle counts (lines and entries)

Revision ID: 0019_transfers_counts
Revises: 0014_backoffice
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_transfers_counts"
down_revision = "0014_backoffice"
branch_labels = ("transfers_counts",)
depends_on = None


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    ref = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{ref}"))


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("source_location_id", sa.Integer(), nullable=False),
        sa.Column("destination_location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("order_workflow_id", sa.String(200), server_default="", nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("picked_by", sa.Integer(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), server_default="", nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "status IN ('requested', 'picked', 'received', 'cancelled')",
            name=op.f("ck_transfers_status"),
        ),
        sa.CheckConstraint(
            "source_location_id <> destination_location_id", name=op.f("ck_transfers_two_places")
        ),
        _fk("source_location_id", "transfers", "locations.id"),
        _fk("destination_location_id", "transfers", "locations.id"),
        _fk("requested_by", "transfers", "users.id"),
        _fk("picked_by", "transfers", "users.id"),
        _fk("closed_by", "transfers", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("code", name=op.f("uq_transfers_code")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_transfers_workflow_id")),
    )
    op.create_index(op.f("ix_transfers_source_location_id"), "transfers", ["source_location_id"])
    op.create_index(
        op.f("ix_transfers_destination_location_id"), "transfers", ["destination_location_id"]
    )
    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("picked", sa.Integer(), nullable=True),
        sa.Column("received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("short", sa.Integer(), server_default="0", nullable=False),
        sa.Column("over", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("requested > 0", name=op.f("ck_transfer_lines_requested_positive")),
        sa.CheckConstraint(
            "picked IS NULL OR picked >= 0", name=op.f("ck_transfer_lines_picked_positive")
        ),
        sa.CheckConstraint("received >= 0", name=op.f("ck_transfer_lines_received_positive")),
        _fk("transfer_id", "transfer_lines", "transfers.id"),
        _fk("sku", "transfer_lines", "variants.sku"),
        sa.PrimaryKeyConstraint("transfer_id", "line_no", name=op.f("pk_transfer_lines")),
        sa.UniqueConstraint("transfer_id", "sku", name=op.f("uq_transfer_lines_transfer_id_sku")),
    )
    op.create_table(
        "transfer_deliveries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_no", sa.Integer(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_by", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        _fk("transfer_id", "transfer_deliveries", "transfers.id"),
        _fk("received_by", "transfer_deliveries", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_deliveries")),
        sa.UniqueConstraint(
            "transfer_id",
            "delivery_no",
            name=op.f("uq_transfer_deliveries_transfer_id_delivery_no"),
        ),
    )
    op.create_index("ix_transfer_deliveries_transfer_id", "transfer_deliveries", ["transfer_id"])
    op.create_table(
        "stock_counts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("snapshot_movement_id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "status IN ('counting', 'review', 'applied', 'cancelled')",
            name=op.f("ck_stock_counts_status"),
        ),
        _fk("location_id", "stock_counts", "locations.id"),
        _fk("created_by", "stock_counts", "users.id"),
        _fk("approved_by", "stock_counts", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_counts")),
        sa.UniqueConstraint("code", name=op.f("uq_stock_counts_code")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_stock_counts_workflow_id")),
    )
    op.create_index(op.f("ix_stock_counts_location_id"), "stock_counts", ["location_id"])
    op.create_table(
        "stock_count_lines",
        sa.Column("count_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("snapshot_on_hand", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("counted_movement_id", sa.BigInteger(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_counted", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), server_default="1", nullable=False),
        sa.Column("applied_delta", sa.Integer(), nullable=True),
        _fk("count_id", "stock_count_lines", "stock_counts.id"),
        _fk("sku", "stock_count_lines", "variants.sku"),
        sa.PrimaryKeyConstraint("count_id", "sku", name=op.f("pk_stock_count_lines")),
    )
    op.create_table(
        "stock_count_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("count_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_key", sa.String(300), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("bin", sa.String(64), server_default="", nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), server_default="1", nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_stock_count_entries_quantity_positive")),
        _fk("count_id", "stock_count_entries", "stock_counts.id"),
        _fk("sku", "stock_count_entries", "variants.sku"),
        _fk("entered_by", "stock_count_entries", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_count_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_stock_count_entries_entry_key")),
    )
    op.create_index(
        "ix_stock_count_entries_count_id_sku", "stock_count_entries", ["count_id", "sku"]
    )


def downgrade() -> None:
    op.drop_index("ix_stock_count_entries_count_id_sku", table_name="stock_count_entries")
    op.drop_table("stock_count_entries")
    op.drop_table("stock_count_lines")
    op.drop_index(op.f("ix_stock_counts_location_id"), table_name="stock_counts")
    op.drop_table("stock_counts")
    op.drop_index("ix_transfer_deliveries_transfer_id", table_name="transfer_deliveries")
    op.drop_table("transfer_deliveries")
    op.drop_table("transfer_lines")
    op.drop_index(op.f("ix_transfers_destination_location_id"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_source_location_id"), table_name="transfers")
    op.drop_table("transfers")
