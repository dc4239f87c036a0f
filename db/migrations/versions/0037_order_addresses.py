"""order addresses: where each order ships to, and the carriers' tracking updates of parcels
(issue 19; models in db/models_addresses.py)

Revision ID: 0037_order_addresses
Revises: 0034_promotion_pins
Create Date: 2026-12-01 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0037_order_addresses"
down_revision = "0034_promotion_pins"
branch_labels = ("order_addresses",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_addresses",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=50), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_addresses_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", name="pk_order_addresses"),
    )
    op.create_table(
        "tracking_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_details", sa.Text(), nullable=False),
        sa.Column("status_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parcel_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_tracking_events"),
        sa.UniqueConstraint("event_key", name="uq_tracking_events_event_key"),
    )
    op.create_index("ix_tracking_events_tracking_number", "tracking_events", ["tracking_number"])


def downgrade() -> None:
    op.drop_index("ix_tracking_events_tracking_number", table_name="tracking_events")
    op.drop_table("tracking_events")
    op.drop_table("order_addresses")
