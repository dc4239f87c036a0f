"""nothing lost / storefront abuse: carts remember a hash of their shopper's session, so open
carts can be capped per shopper

Revision ID: 0011_nothing_lost
Revises: 0003_webstore
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_nothing_lost"
down_revision = "0003_webstore"
branch_labels = ("nothing_lost",)
depends_on = None


def upgrade() -> None:
    op.add_column(
        "carts",
        sa.Column("shopper", sa.String(length=64), server_default="", nullable=False),
    )
    op.create_index(
        op.f("ix_carts_store_id_shopper_status"),
        "carts",
        ["store_id", "shopper", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_carts_store_id_shopper_status"), table_name="carts")
    op.drop_column("carts", "shopper")
