"""fx rates: a stored daily exchange rate per currency pair, for group totals across
currencies (issue 19)

Revision ID: 0039_fx_rates
Revises: 0034_promotion_pins
Create Date: 2026-12-01 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039_fx_rates"
down_revision = "0034_promotion_pins"
branch_labels = ("fx_rates",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fx_rates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(18, 8), nullable=False),
        sa.Column("set_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_positive")),
        sa.CheckConstraint("currency <> base", name=op.f("ck_fx_rates_two_currencies")),
        sa.ForeignKeyConstraint(
            ["set_by_user_id"], ["users.id"], name=op.f("fk_fx_rates_set_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("day", "currency", "base", name=op.f("pk_fx_rates")),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
