"""sales in shifts: shift required per store, the shift of each sale and return, line discounts,
the sale's adjustments with their approvals, voids, and the per-store approval table

Revision ID: 0022_sale_shifts
Revises: 0021_shifts, 0005_returns
Create Date: 2026-12-01 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_sale_shifts"
down_revision = ("0021_shifts", "0005_returns")  # merges the two: returns gets shift_id
branch_labels = None
depends_on = None


def _shift_fk(table: str) -> None:
    op.add_column(table, sa.Column("shift_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f(f"fk_{table}_shift_id_shifts"), table, "shifts", ["shift_id"], ["id"]
    )
    op.create_index(op.f(f"ix_{table}_shift_id"), table, ["shift_id"])


def upgrade() -> None:
    op.add_column(
        "locations",
        sa.Column("shift_required", sa.Boolean(), server_default="true", nullable=False),
    )
    _shift_fk("orders")
    op.add_column(
        "orders",
        sa.Column("adjustments", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "order_lines", sa.Column("discount", sa.BigInteger(), server_default="0", nullable=False)
    )
    _shift_fk("returns")
    op.add_column(
        "returns", sa.Column("void", sa.Boolean(), server_default="false", nullable=False)
    )
    op.create_table(
        "store_permissions",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("approval", sa.Boolean(), nullable=False),
        sa.Column("cashier_limit", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_store_permissions_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_store_permissions_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("location_id", "action", name=op.f("pk_store_permissions")),
    )


def downgrade() -> None:
    op.drop_table("store_permissions")
    op.drop_column("returns", "void")
    for table in ("returns", "orders"):
        op.drop_index(op.f(f"ix_{table}_shift_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_shift_id_shifts"), table, type_="foreignkey")
        op.drop_column(table, "shift_id")
    op.drop_column("order_lines", "discount")
    op.drop_column("orders", "adjustments")
    op.drop_column("locations", "shift_required")
