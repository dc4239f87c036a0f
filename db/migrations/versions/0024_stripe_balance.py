"""Stripe balance transactions for the tender reconciliation (issue 16)

Revision ID: 0024_stripe_balance
Revises: 0022_sale_shifts
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024_stripe_balance"
down_revision = "0022_sale_shifts"
branch_labels = ("stripe_balance",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_balance_txns",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("reporting_category", sa.String(length=60), server_default="", nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_id", sa.String(length=100), server_default="", nullable=False),
        sa.Column("payment_intent", sa.String(length=100), server_default="", nullable=False),
        sa.Column("charge_id", sa.String(length=100), server_default="", nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payout_id", sa.String(length=100), nullable=True),
        sa.Column("payout_status", sa.String(length=16), nullable=True),
        sa.Column("payout_arrival", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_balance_txns")),
    )
    op.create_index("ix_stripe_balance_txns_created_at", "stripe_balance_txns", ["created_at"])
    op.create_index(
        "ix_stripe_balance_txns_payment_intent", "stripe_balance_txns", ["payment_intent"]
    )
    op.create_index("ix_stripe_balance_txns_source_id", "stripe_balance_txns", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_stripe_balance_txns_source_id", table_name="stripe_balance_txns")
    op.drop_index("ix_stripe_balance_txns_payment_intent", table_name="stripe_balance_txns")
    op.drop_index("ix_stripe_balance_txns_created_at", table_name="stripe_balance_txns")
    op.drop_table("stripe_balance_txns")
