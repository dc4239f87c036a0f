"""secret rotation: a web store's previous storefront key and webhook secret stay valid for a
window, so a key or secret can be changed without downtime

Revision ID: 0012_rotation
Revises: 0003_webstore
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_rotation"
down_revision = "0003_webstore"
branch_labels = ("rotation",)
depends_on = None


def upgrade() -> None:
    op.add_column(
        "web_stores",
        sa.Column("storefront_key_previous_hash", sa.String(length=64), nullable=True),
    )
    op.add_column(
        "web_stores",
        sa.Column(
            "webhook_secret_previous", sa.String(length=300), server_default="", nullable=False
        ),
    )
    op.add_column(
        "web_stores",
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_unique_constraint(
        op.f("uq_web_stores_storefront_key_previous_hash"),
        "web_stores",
        ["storefront_key_previous_hash"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_web_stores_storefront_key_previous_hash"), "web_stores", type_="unique"
    )
    op.drop_column("web_stores", "previous_valid_until")
    op.drop_column("web_stores", "webhook_secret_previous")
    op.drop_column("web_stores", "storefront_key_previous_hash")
