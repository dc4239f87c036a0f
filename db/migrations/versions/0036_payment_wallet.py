"""payment wallet: the wallet (Apple Pay, Google Pay, Samsung Pay …) Stripe's charge names for a
card payment, online or on a Terminal reader (issue 19)

Revision ID: 0036_payment_wallet
Revises: 0034_promotion_pins
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036_payment_wallet"
down_revision = "0034_promotion_pins"
branch_labels = ("payment_wallet",)
depends_on = None


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("card_wallet", sa.String(length=32), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("payments", "card_wallet")
