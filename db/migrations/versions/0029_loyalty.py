"""loyalty points: accounts (balance >= 0, tier, 12-month spend) and the append-only points
ledger with expiring lots (issue 17; models in db/models_loyalty.py)

Revision ID: 0029_loyalty
Revises: 0022_sale_shifts
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_loyalty"
down_revision = "0022_sale_shifts"
branch_labels = ("loyalty",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", name="fk_loyalty_accounts_customer_id_customers"),
            nullable=False,
        ),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tier", sa.String(32), server_default="base", nullable=False),
        sa.Column("spend_12m", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_accounts"),
        sa.UniqueConstraint("customer_id", name="uq_loyalty_accounts_customer_id"),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_loyalty_accounts_balance_not_negative")),
    )
    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey(
                "loyalty_accounts.id", name="fk_loyalty_ledger_account_id_loyalty_accounts"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("order_workflow_id", sa.String(200), nullable=True),
        sa.Column("spend", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "lot_id",
            sa.BigInteger(),
            sa.ForeignKey("loyalty_ledger.id", name="fk_loyalty_ledger_lot_id_loyalty_ledger"),
            nullable=True,
        ),
        sa.Column("reason", sa.String(300), server_default="", nullable=False),
        sa.Column(
            "actor_user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_loyalty_ledger_actor_user_id_users"),
            nullable=True,
        ),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_ledger"),
        sa.UniqueConstraint("idempotency_key", name="uq_loyalty_ledger_idempotency_key"),
        sa.UniqueConstraint("lot_id", name="uq_loyalty_ledger_lot_id"),
        sa.CheckConstraint(
            "kind IN ('earn', 'reverse', 'expire', 'redeem', 'refund_redeem', 'adjust')",
            name=op.f("ck_loyalty_ledger_kind"),
        ),
    )
    op.create_index("ix_loyalty_ledger_account_id", "loyalty_ledger", ["account_id"])
    op.create_index("ix_loyalty_ledger_order_workflow_id", "loyalty_ledger", ["order_workflow_id"])
    op.create_index("ix_loyalty_ledger_expires_at", "loyalty_ledger", ["expires_at"])


def downgrade() -> None:
    op.drop_table("loyalty_ledger")
    op.drop_table("loyalty_accounts")
